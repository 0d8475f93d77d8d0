import numpy as np

from smartclass.data.detection_augment import (AugmentSettings, augment_sample, colour_jitter, hflip, letterbox,
                                               mosaic, random_scale_crop, repeat_factor_epoch, repeat_factors)


def _marked(h=60, w=80, box=(20, 10, 40, 30)):
    img = np.zeros((h, w, 3), np.uint8)
    x1, y1, x2, y2 = box
    img[y1:y2, x1:x2] = 255
    return img, np.array([box], np.float32), np.array([1])


def _box_covers_white(img, boxes):
    for x1, y1, x2, y2 in boxes.round().astype(int):
        patch = img[y1:y2, x1:x2]
        assert patch.size and patch.mean() > 200


def test_letterbox_keeps_aspect_and_scales_boxes():
    img, boxes, _ = _marked()
    out, b, s = letterbox(img, boxes, (160, 160))
    assert out.shape == (160, 160, 3) and s == 2.0
    np.testing.assert_allclose(b, [[40, 20, 80, 60]])
    assert (out[120:] == 114).all()
    _box_covers_white(out, b)


def test_hflip_maps_boxes():
    img, boxes, _ = _marked()
    out, b = hflip(img, boxes)
    np.testing.assert_allclose(b, [[40, 10, 60, 30]])
    _box_covers_white(out, b)


def test_random_scale_crop_boxes_follow_pixels():
    rng = np.random.default_rng(0)
    img, boxes, labels = _marked()
    for _ in range(20):
        out, b, lab = random_scale_crop(img, boxes, labels, (64, 48), (0.6, 1.8), rng)
        assert out.shape == (48, 64, 3) and len(b) == len(lab)
        assert (b[:, 2:] <= [64, 48]).all() and (b >= 0).all()
        _box_covers_white(out, b)


def test_mosaic_and_full_augment_keep_boxes_on_objects():
    rng = np.random.default_rng(1)
    items = [_marked() for _ in range(4)]
    out, b, lab = mosaic(items, (96, 80), rng)
    assert out.shape == (80, 96, 3) and len(b) == len(lab) >= 1
    _box_covers_white(out, b)
    aug = AugmentSettings(hue=0, saturation=0, value=0, mosaic=0.5)
    for i in range(10):
        out, b, lab = augment_sample(lambda j: _marked(), i, 4, (64, 64), aug, rng)
        _box_covers_white(out, b)


def test_colour_jitter_changes_colour_not_shape():
    img = np.random.default_rng(0).integers(0, 255, (10, 12, 3), dtype=np.uint8)
    out = colour_jitter(img, np.random.default_rng(3), 0.1, 0.7, 0.4)
    assert out.shape == img.shape and out.dtype == np.uint8 and not np.array_equal(out, img)


def test_repeat_factors_hand_computed():
    # class 0 in every image, class 1 in one of four: f = (1, 0.25); t = 0.5 → r1 = sqrt(2)
    labels = [np.array([0, 1]), np.array([0]), np.array([0, 0]), np.array([], np.int64)]
    r = repeat_factors(labels, 2, 0.5)
    np.testing.assert_allclose(r, [np.sqrt(2), 1, 1, 1])
    np.testing.assert_allclose(repeat_factors(labels, 2, 0.0), 1)
    counts = np.bincount(np.concatenate([repeat_factor_epoch(r, np.random.default_rng(s)) for s in range(400)]), minlength=4)
    assert abs(counts[0] / 400 - np.sqrt(2)) < 0.08 and counts[1] == counts[2] == counts[3] == 400
