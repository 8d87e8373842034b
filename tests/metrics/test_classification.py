"""Classification scores on hand-made cases."""
import numpy as np
import pytest

from vgan_tf.metrics import classification as cls


LOGITS = np.array([[5.0, 1.0, 0.0, 0.0, 0.0, 0.0],   # predicts 0, label 0
                   [2.0, 0.0, 5.0, 4.0, 3.0, 2.5],   # predicts 2, label 1 (1 is 6th)
                   [0.0, 5.0, 4.0, 0.0, 0.0, 0.0],   # predicts 1, label 2 (2nd)
                   [0.0, 0.0, 0.0, 9.0, 0.0, 0.0]])  # predicts 3, label 3
LABELS = np.array([0, 1, 2, 3])


def test_top_k_and_mean_class_accuracy():
    assert cls.top_k_accuracy(LOGITS, LABELS, 1) == 0.5
    assert cls.top_k_accuracy(LOGITS, LABELS, 2) == 0.75
    assert cls.top_k_accuracy(LOGITS, LABELS, 5) == 0.75  # row 1's label ranks 6th
    assert cls.top_k_accuracy(LOGITS, LABELS, 6) == 1.0
    report = cls.classification_report(LOGITS, LABELS, 6)
    assert report["top1"] == 0.5 and report["top5"] == 0.75 and report["count"] == 4
    assert report["mean_class_accuracy"] == 0.5  # classes 0..3 occur: 1, 0, 0, 1
    matrix = np.array(report["confusion"])
    assert matrix[1, 2] == 1 and matrix[2, 1] == 1 and np.trace(matrix) == 2
    assert matrix.sum() == 4 and report["chance"] == pytest.approx(1 / 6)


def test_mean_class_accuracy_weights_classes_not_clips():
    matrix = cls.confusion_matrix([0, 0, 0, 0, 1], [0, 0, 0, 1, 1], 2)
    assert matrix.tolist() == [[3, 0], [1, 1]]
    assert cls.mean_class_accuracy(matrix) == pytest.approx((1.0 + 0.5) / 2)


def test_errors_and_picture():
    with pytest.raises(ValueError, match="labels must be in"):
        cls.confusion_matrix([0], [5], 3)
    with pytest.raises(ValueError, match="expected 3"):
        cls.classification_report(LOGITS, LABELS, 3)
    picture = cls.confusion_picture([[2, 0], [1, 1]], cell=4)
    assert picture.shape == (8, 8, 3) and picture.dtype == np.uint8
    assert picture[0, 0].tolist() == [8, 48, 107]      # class 0: all right -> dark
    assert picture[0, 4].tolist() == [255, 255, 255]   # never predicted -> white
    assert picture[4, 0].tolist() == picture[4, 4].tolist()  # half and half


def test_the_confusion_figure_is_readable_and_labelled():
    matrix = np.eye(5, dtype=int) * 4
    matrix[1, 2] = 4  # class 1 (label 2 from base 1): half predicted as the next class
    figure = cls.confusion_figure(matrix, label_base=1)
    height, width, _ = figure.shape
    assert height >= 480 and width >= 480 and figure.dtype == np.uint8
    cells = cls.confusion_picture(matrix, 96)  # 480 / 5 classes = 96 px cells
    top = 44
    left = next(x for x in range(width) if figure[top + 48, x].tolist() == [8, 48, 107])
    np.testing.assert_array_equal(figure[top:top + 480, left:left + 480], cells)
    assert (figure[top:top + 480, :left - 2] < 128).any()      # row labels drawn
    assert (figure[:top - 2] < 128).any()                      # title and column labels
    bar = figure[top:top + 480, left + 480 + 16 + 12]          # the colour scale's middle
    assert bar[0].tolist() == [8, 48, 107] and bar[-1].tolist() == [255, 255, 255]
    np.testing.assert_allclose(bar[240], [132, 152, 181], atol=2)  # half way
    named = cls.confusion_figure(matrix, names=["walk", "run", "jump", "sit", "wave"])
    assert named.shape[1] > width  # wider row labels
