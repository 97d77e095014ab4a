"""Visual authoring of release projects: components, command sequences, the dependency
graph, lint, and the live preview build; every edit a core command on the undo stack."""
