import time, warnings
import numpy as np, statsmodels.api as sm, daskglm, dask.array as da
from daskglm import solvers
data = sm.datasets.scotland.load_pandas()
X0 = np.asarray(data.exog, float)
X = sm.add_constant((X0 - X0.mean(0)) / X0.std(0)); y = np.asarray(data.endog, float)
Xd = da.from_array(X, chunks=(11, -1)); yd = da.from_array(y, chunks=11)
for fam, smfam in [(daskglm.Gamma("log"), sm.families.Gamma(sm.families.links.Log())), (daskglm.Gamma(), sm.families.Gamma()), (daskglm.Gamma("identity"), sm.families.Gamma(sm.families.links.Identity())), (daskglm.InverseGaussian(), sm.families.InverseGaussian()),(daskglm.InverseGaussian("log"), sm.families.InverseGaussian(sm.families.links.Log()))]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.GLM(y, X, family=smfam).fit(tol=1e-12)
    for name in ["newton", "lbfgs", "gradient_descent", "proximal_grad", "admm", "saga"]:
        t=time.time()
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try:
                r = solvers.SOLVERS[name](Xd, yd, fam, max_iter=2000 if name!="newton" else 100, tol=1e-8 if name in ("newton","lbfgs") else 1e-6, **({"seed":0} if name=="saga" else {}))
                err = np.max(np.abs(r.coef - ref.params)/np.abs(ref.params))
                print(fam, name, r.converged, r.n_iter, f"{err:.1e}", r.message[:80], f"{time.time()-t:.1f}s", [str(x.message)[:60] for x in w][:1])
            except Exception as e:
                print(fam, name, "EXC", type(e).__name__, str(e)[:150])
