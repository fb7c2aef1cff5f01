"""The child of the resume-after-kill test: start a call in the real window on DB, drive it
into affordability by clicks, print where it is, then wait to be killed (SIGKILL)."""

from __future__ import annotations

import json
import os
import sys
import time

os.environ["QT_QPA_PLATFORM"] = "offscreen"


def main(db: str, flows: str) -> None:
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from callguide.qt.app import open_call
    from tests.qt.driver import CallDriver, PlainBot
    from tests.qt.test_calls import open_to_affordability

    window, code = open_call(db, flows, "agent-7", {"account_id": "A-300", "name": "Kim Larsen", "country": "DK",
                                                    "lang": "da", "balance": "5400.00"})
    assert window is not None, code
    window.show()
    app.processEvents()
    d = CallDriver(PlainBot(), window)
    open_to_affordability(d)
    d.fill_all({"employment": "employed", "finance_difficulty": False})
    d.next()
    d.fill("income", "18000")  # answered, not yet committed with Next
    app.processEvents()
    print(json.dumps({"call_id": d.session.call_id, "flow": d.where[0], "step": d.where[1],
                      "income": str(d.session.values.get("income"))}), flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
