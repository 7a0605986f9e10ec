"""Reproducing the notes: ``python -m bench reproduce`` trains each workload as the notes do
(``reproduce``) and can save the notes' preview of four test images (``preview``). Nothing
here is timed; the measuring core is ``bench`` itself."""
