"""The trainer's workbench: edit, see, test, practise and publish flows (`callguide workbench`)."""
