"""History files, the one home for reading and writing them: the recorder that
writes ``history.jsonl`` during a run (recorder), reading JSONL, Jepsen EDN and
results folders with errors that name the line (files), the EDN reader and
writer (edn), and pandas frames for analysis (frames, imported only by
``unkindness.load_history``). What the events mean (pairing invokes with
completions) is pure and lives with the checkers, in ``checkers/history.py``."""
