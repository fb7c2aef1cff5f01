"""The console window for supervisors and the care team (`callguide console`).

The Qt layer only renders what the core (`callguide.team.console`) gives it: the queue
(`QueueTableModel`), the care team's worklist (`WorklistTableModel`), an account as shared with
the reader, and the results of actions. It never decides who may do what, never reads SQL, and
keeps the feed's thread off the GUI thread through a queued signal.
"""
