"""A Tensor copied into another process (pickled, as Dask ships a model to its workers)
still gets its gradient: backward orders nodes by creation number, so a copy gets a fresh
one instead of its original's, which may be newer than anything made in that process."""

import copy
import pickle

import numpy as np

import dlprimer as dp


def test_an_unpickled_parameter_made_in_a_busier_process_gets_its_gradient():
    w = dp.Tensor([1.0, 2.0], requires_grad=True)
    w._seq = 10**12  # as if made in a process that had created many more Tensors
    for copied in (pickle.loads(pickle.dumps(w)), copy.deepcopy(w)):
        x = dp.Tensor([[3.0, 4.0]])
        (x @ copied).sum().backward()
        np.testing.assert_array_equal(copied.grad, [3.0, 4.0])
        assert copied.requires_grad and copied.grad.dtype == copied.data.dtype
