"""Structure-aware fuzzing of the envelope entry points (issue 11).

`hostile` builds the named attacks (nesting bombs, dependency chains, foreign COSE
structures, huge declared lengths); `mutate` derives inputs from the published vectors;
`harness` runs every entry point that takes envelope bytes and counts what escapes.
Run a long campaign with ``python -m tests.fuzzing --inputs 1000000`` (``make fuzz``).
"""
