"""Team mode on the desktop: the background sync of the local journal into the team store
(`sync`), protections read at call start with an offline fallback (`protections`), and
LISTEN/NOTIFY subscriptions (`notify`). Plain threads and callbacks: never imports Qt; the Qt
layer adapts callbacks to signals. See docs/team.md.
"""
