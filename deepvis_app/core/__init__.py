"""Everything the toolbox does, without Qt, in layers: app > unitvis > methods | imaging > nn > base.

See docs/architecture.md for what each package holds and where a change goes.
"""
