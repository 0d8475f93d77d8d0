import cv2
import numpy as np

from smartclass.synth.config import SynthConfig
from smartclass.synth.generator import render_clip
from smartclass.synth.preview import colourise_depth, preview_frame, write_preview


def test_preview_panel_and_files(tmp_path):
    clip = render_clip(SynthConfig(frames=3, students=2, width=160, height=96), 0)
    panel = preview_frame(clip, 0)
    assert panel.shape == (192, 320, 3)
    paths = write_preview(clip, tmp_path, sheet_frames=3)
    cap = cv2.VideoCapture(str(paths["mp4"]))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    sheet = cv2.imread(str(paths["png"]))
    assert sheet.shape == (192, 320, 3)  # 3 half-size panels (and one blank) two per row


def test_depth_holes_are_black():
    d = np.array([[0, 1000, 3000]], np.uint16)
    c = colourise_depth(d)
    assert (c[0, 0] == 0).all() and c[0, 1].any() and not np.array_equal(c[0, 1], c[0, 2])
