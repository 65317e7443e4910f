"""Data of the shrink suite that no built-in dataset gives: digits as 10 PCA features.

The reference MLPs (``mlp-64-64``) take 10 features and have 10 classes; scikit-learn's digits
(1,797 real 8x8 handwritten digits) reduced to 10 principal components fits them, as in
``examples/reference_mlp.py``. Here the PCA is fitted on all images (unsupervised: no label is
seen), because archtune splits the data after this function returns; the example script fits
it on the training split only.
"""

from __future__ import annotations

import numpy as np


def digits_pca10() -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)``: digits projected on their 10 first principal components."""
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    digits = load_digits()
    x = PCA(n_components=10, random_state=0).fit_transform(digits.data.astype(np.float32))
    return x.astype(np.float32), digits.target.astype(np.int64)
