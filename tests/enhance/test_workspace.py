import threading

import numpy as np

from smartclass.enhance import _workspace as ws


def test_scratch_is_reused_per_name_shape_and_dtype():
    ws.clear_scratch()
    a = ws.scratch("t.a", (4, 5))
    assert a.shape == (4, 5) and a.dtype == np.float32
    assert ws.scratch("t.a", (4, 5)) is a
    assert ws.scratch("t.b", (4, 5)) is not a
    assert ws.scratch("t.a", (4, 6)) is not a and ws.scratch("t.a", (4, 5), np.uint8) is not a
    assert ws.scratch("t.a", (4, 5)) is a  # several shapes of one name coexist
    ws.clear_scratch()
    assert ws.scratch("t.a", (4, 5)) is not a


def test_scratch_is_per_thread_and_bounded():
    main = ws.scratch("t.c", (3,))
    other = []
    th = threading.Thread(target=lambda: other.append(ws.scratch("t.c", (3,))))
    th.start()
    th.join()
    assert other[0] is not main
    for i in range(ws.MAX_ARRAYS + 5):
        ws.scratch(f"t.many{i}", (2,))
    assert len(ws._local.arrays) <= ws.MAX_ARRAYS
