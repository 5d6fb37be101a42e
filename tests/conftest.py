"""Shared test set-up: one BLAS thread, as the app and `nntui train` use.

Small networks gain nothing from a second BLAS thread, and on a 2-core machine that is also running pytest
a busy second thread can slow a training test tenfold.
"""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield
