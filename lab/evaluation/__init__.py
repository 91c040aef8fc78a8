"""The paper's evaluation, run on a target through labgrid (``make lab``).

``measures`` turns probe records into figures, ``experiments`` boots each
experiment and collects its records, ``summary`` writes ``summary.json`` and
the table beside the paper's figures.
"""
