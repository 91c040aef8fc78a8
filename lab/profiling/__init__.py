"""OVM's paths measured from inside: per-function instruction counts from a QEMU trace.

Under ``-icount`` one instruction is 2^shift virtual ns, so where the
evaluation gives a path's cost as a whole, an instruction trace says where it
goes. QEMU runs the image with one instruction per translation block
(``-singlestep``, chaining off), which does not change icount timing; the
exec log is switched on through QEMU's monitor once the guests are at work
and off after a budget of instructions (``capture``). The trace is cut into
OVM visits, a core's consecutive instructions in OVM's image or its shim
(``trace``), each visit is symbolised from the ELF files (``symbols``) and
classified by the path it took (``paths``); ``report`` prints and keeps the
table. The command is ``python -m lab.profile``.
"""
