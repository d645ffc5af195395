"""Fixtures shared by the test modules: dask.distributed clusters, and the
logistic and Poisson problems of the ADMM and SAGA tests.

Plain helper functions live in modules of their own, imported by name:
:mod:`synthetic` (seeded problems, chunking, relative gaps),
:mod:`dask_counting` (counting dask computes) and :mod:`glm_reference`
(statsmodels' real data and the comparisons against its GLM).
"""

import contextlib

import dask
import distributed
import pytest
import statsmodels.formula.api as smf

from glm_reference import CASES, frame, partitioned, reference_fit
from synthetic import logistic_and_poisson_data


@contextlib.contextmanager
def _two_process_cluster_client():
    """A client of a LocalCluster with two one-thread worker processes; not
    the default client, so nothing runs on it unless a test asks."""
    with (distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=":0") as cluster,
          distributed.Client(cluster, set_as_default=False) as client):
        yield client


@pytest.fixture(scope="session")
def cluster_client():
    """The session's shared two-process cluster (see ``distributed_client``)."""
    with _two_process_cluster_client() as client:
        yield client


@pytest.fixture
def distributed_client(cluster_client):
    """A two-process LocalCluster's client, current for this test only (the
    cluster is shared by the session; other tests keep dask's threads)."""
    with cluster_client.as_current():
        yield cluster_client


@pytest.fixture(scope="module")
def own_cluster_client():
    """A two-process cluster of the module's own, for tests that harm their
    cluster (killing a worker) and so must not share the session's."""
    with _two_process_cluster_client() as client:
        yield client


@pytest.fixture(scope="module")
def problems(request):
    """The ADMM and SAGA tests' logistic and Poisson problems, of the size
    the test module sets in its ``N_ROWS`` and ``N_COLS``."""
    return logistic_and_poisson_data(request.module.N_ROWS, request.module.N_COLS)


@pytest.fixture(scope="module")
def logistic_data(problems):
    """``(X, y, {})``: a seeded logistic problem with an intercept column."""
    return problems[0]


@pytest.fixture(scope="module")
def poisson_data(problems):
    """``(X, y, {"offset": ..., "weights": ...})``: a seeded Poisson problem."""
    return problems[1]


@pytest.fixture(scope="session")
def weighted_formula_fits():
    """``fits(cov_type)``: per case of ``glm_reference.CASES``, (ours,
    statsmodels', data) of the formula fit with ``var_weights="vw"``, our data
    in 4 partitions; each cov_type is fitted once per session."""
    import daskglm

    cache = {}

    def fits(cov_type="nonrobust"):
        if cov_type not in cache:
            out = {}
            with dask.config.set(scheduler="threads"):
                for case, (family, sm_family, formula, _) in CASES.items():
                    data = frame(case)
                    ours = daskglm.glm(formula, partitioned(data, 4), family=family,
                                       var_weights="vw").fit(cov_type=cov_type)
                    reference = reference_fit(smf.glm(formula, data, family=sm_family,
                                                      var_weights=data["vw"]),
                                              cov_type=cov_type)
                    out[case] = ours, reference, data
            cache[cov_type] = out
        return cache[cov_type]

    return fits
