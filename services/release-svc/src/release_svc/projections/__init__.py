"""Read models, written here only, in the unit of work of the events they follow, and
rebuildable from those events: the releases' (list, schedule, dependencies, communications),
the freezes', and the delivery metrics' (from `deploy.events`)."""
