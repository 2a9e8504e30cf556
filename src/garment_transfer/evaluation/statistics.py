"""FID, KID and IS from Inception features, with torch-fidelity's definitions and seeded sampling.

- FID: ``|mu_f - mu_r|^2 + tr(S_f) + tr(S_r) - 2 tr(sqrt(S_f S_r))`` over ``pool3`` features, means and covariances
  (normalised by N - 1) in float64; the trace of the matrix square root is the sum of the square roots of the
  eigenvalues of ``S_f S_r`` (as torchmetrics computes it; scipy's ``sqrtm`` in torch-fidelity gives the same value).
- KID: the unbiased MMD^2 with the cubic polynomial kernel ``k(a, b) = (a.b / 2048 + 1)^3``, averaged over
  ``subsets`` random subsets of ``subset_size`` generated and real features (each drawn without replacement from a
  ``numpy.random.RandomState(seed)``, generated first, as torch-fidelity draws them; its defaults 100, 1000, 2020).
- IS: ``exp(E_x KL(p(y|x) || p(y)))`` from the softmax of ``logits_unbiased``, over ``splits`` consecutive chunks
  (chunk ``i`` is ``[i N / splits, (i + 1) N / splits)``) after a permutation from ``RandomState(seed)``; the
  mean and the (population) standard deviation over the chunks, torch-fidelity's defaults 10 splits, seed 2020.

Before KID and IS draw their subsets / splits, :class:`InceptionStatistics` puts each set's features in a canonical
order (sorted by their projection on a fixed random direction), so the values do not depend on the order of the
images, the batch size or the number of processes, and are the same in every run. (torch-fidelity draws from the
order it reads the files in; the two differ by a different random assignment only, of the size of the reported
standard deviation.) A metric whose sets are too small to compute is reported as skipped, with the reason, never
as a number.
"""

from __future__ import annotations

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

POOL_FEATURES, LOGITS = 2048, 1008
KID_SUBSETS, KID_SUBSET_SIZE, IS_SPLITS, SEED = 100, 1000, 10, 2020


def canonical_order(features: torch.Tensor, seed: int = SEED) -> torch.Tensor:
    """(N, D) features sorted by their projection on a direction drawn from ``RandomState(seed)``: the same rows
    in any input order give the same output (equal rows are interchangeable)."""
    direction = torch.as_tensor(np.random.RandomState(seed).standard_normal(features.shape[1]), device=features.device)
    return features[torch.argsort(features.double() @ direction, stable=True)]


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """FID between two Gaussians: mu (D,), sigma (D, D), float64."""
    root_trace = torch.linalg.eigvals(sigma1 @ sigma2).sqrt().real.sum()
    return float((mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * root_trace)


def _mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    d = x.shape[1]
    k_xx, k_yy, k_xy = ((a @ b.T / d + 1).double() ** 3 for a, b in ((x, x), (y, y), (x, y)))
    m = x.shape[0]
    same = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return float(same - 2 * k_xy.sum() / (m * m))


def kernel_inception_distance(
    fake: torch.Tensor,
    real: torch.Tensor,
    subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    seed: int = SEED,
) -> tuple[float, float]:
    """KID mean and standard deviation over subsets (module docstring).

    Args:
        fake, real: (N, D) and (M, D) features, N and M at least ``subset_size``.
    """
    if min(len(fake), len(real)) < subset_size:
        raise ValueError(f"KID: subset_size {subset_size} exceeds the features ({len(fake)} / {len(real)})")
    rng = np.random.RandomState(seed)
    values = []
    for _ in range(subsets):
        f = torch.as_tensor(rng.choice(len(fake), subset_size, replace=False), device=fake.device)
        r = torch.as_tensor(rng.choice(len(real), subset_size, replace=False), device=real.device)
        values.append(_mmd2_unbiased(fake[f].float(), real[r].float()))
    return float(np.mean(values)), float(np.std(values))


def inception_score(logits: torch.Tensor, splits: int = IS_SPLITS, seed: int = SEED) -> tuple[float, float]:
    """IS mean and standard deviation over splits (module docstring).

    Args:
        logits: (N, C) unnormalised class scores, N at least ``splits``.
    """
    n = len(logits)
    if n < splits:
        raise ValueError(f"IS: {splits} splits need at least {splits} images, got {n}")
    order = torch.as_tensor(np.random.RandomState(seed).permutation(n), device=logits.device)
    logits = logits[order].double()
    p, log_p = logits.softmax(dim=1), logits.log_softmax(dim=1)
    scores = []
    for i in range(splits):
        chunk, log_chunk = p[i * n // splits : (i + 1) * n // splits], log_p[i * n // splits : (i + 1) * n // splits]
        marginal = chunk.mean(dim=0, keepdim=True)
        scores.append(float((chunk * (log_chunk - marginal.log())).sum(dim=1).mean().exp()))
    return float(np.mean(scores)), float(np.std(scores))


class InceptionStatistics(Metric):
    """Inception features of generated ("fake") and real images, reduced to FID, KID and IS on ``compute``.

    FID keeps float64 sums of the features and their outer products (constant memory); KID keeps every ``pool3``
    vector and IS every logit vector (8 and 4 kB per image). All states are summed or concatenated across processes.

    Args:
        fid, kid, inception_score: which metrics to keep states for.
        kid_subsets, kid_subset_size, is_splits, seed: as :func:`kernel_inception_distance` / :func:`inception_score`.
    """

    full_state_update = False
    is_differentiable = False

    def __init__(
        self,
        fid: bool = True,
        kid: bool = True,
        inception_score: bool = True,
        kid_subsets: int = KID_SUBSETS,
        kid_subset_size: int = KID_SUBSET_SIZE,
        is_splits: int = IS_SPLITS,
        seed: int = SEED,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if kid_subset_size < 2 or kid_subsets < 1 or is_splits < 1:
            raise ValueError(
                f"InceptionStatistics: kid_subset_size >= 2, kid_subsets >= 1 and is_splits >= 1 "
                f"needed, got {kid_subset_size}, {kid_subsets}, {is_splits}"
            )
        self.wanted = {"fid": fid, "kid": kid, "is": inception_score}
        self.kid_subsets, self.kid_subset_size = kid_subsets, kid_subset_size
        self.is_splits, self.seed = is_splits, seed
        for side in ("fake", "real"):
            self.add_state(f"{side}_count", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")
            if fid:
                self.add_state(f"{side}_sum", torch.zeros(POOL_FEATURES, dtype=torch.float64), dist_reduce_fx="sum")
                self.add_state(
                    f"{side}_outer",
                    torch.zeros(POOL_FEATURES, POOL_FEATURES, dtype=torch.float64),
                    dist_reduce_fx="sum",
                )
            if kid:
                self.add_state(f"{side}_pool", [], dist_reduce_fx="cat")
        if inception_score:
            self.add_state("fake_logits", [], dist_reduce_fx="cat")

    def update(self, features: dict[str, torch.Tensor], real: bool) -> None:
        """Add a batch of Inception outputs to the real or the generated set.

        Args:
            features: :class:`InceptionV3Features` output, ``pool3`` (B, 2048) and ``logits_unbiased`` (B, 1008).
            real: the batch belongs to the real set (FID / KID reference), else to the generated set.
        """
        side = "real" if real else "fake"
        pool = features["pool3"]
        setattr(self, f"{side}_count", getattr(self, f"{side}_count") + pool.shape[0])
        if self.wanted["fid"]:
            pool64 = pool.double()
            setattr(self, f"{side}_sum", getattr(self, f"{side}_sum") + pool64.sum(dim=0))
            setattr(self, f"{side}_outer", getattr(self, f"{side}_outer") + pool64.T @ pool64)
        if self.wanted["kid"]:
            getattr(self, f"{side}_pool").append(pool.float())
        if self.wanted["is"] and not real:
            self.fake_logits.append(features["logits_unbiased"].float())

    def _gaussian(self, side: str) -> tuple[torch.Tensor, torch.Tensor]:
        n = getattr(self, f"{side}_count").double()
        mean = getattr(self, f"{side}_sum") / n
        cov = (getattr(self, f"{side}_outer") - n * torch.outer(mean, mean)) / (n - 1)
        return mean, cov

    def compute(self) -> tuple[dict[str, float], dict[str, float], dict[str, str]]:
        """``(values, std, skipped)``: metric -> value, metric -> spread (KID, IS), metric -> why it was skipped."""
        values, std, skipped = {}, {}, {}
        fake, real = int(self.fake_count), int(self.real_count)
        no_real = "no real images were given (update(..., real=...) or the references)"
        if self.wanted["fid"]:
            if real == 0:
                skipped["fid"] = no_real
            elif min(fake, real) < 2:
                skipped["fid"] = f"FID needs at least 2 generated and 2 real images, got {fake} / {real}"
            else:
                values["fid"] = frechet_distance(*self._gaussian("fake"), *self._gaussian("real"))
        if self.wanted["kid"]:
            size = self.kid_subset_size
            if real == 0:
                skipped["kid"] = no_real
            elif min(fake, real) < size:
                skipped["kid"] = (
                    f"KID needs at least {size} generated and {size} real images (its subset size; "
                    f"torch-fidelity's default is {KID_SUBSET_SIZE}), got {fake} / {real}"
                )
            else:
                fake_pool = canonical_order(dim_zero_cat(self.fake_pool), self.seed)
                real_pool = canonical_order(dim_zero_cat(self.real_pool), self.seed)
                values["kid"], std["kid"] = kernel_inception_distance(
                    fake_pool, real_pool, self.kid_subsets, size, self.seed
                )
        if self.wanted["is"]:
            if fake < self.is_splits:
                skipped["is"] = f"IS needs at least {self.is_splits} images (its splits), got {fake}"
            else:
                logits = canonical_order(dim_zero_cat(self.fake_logits), self.seed)
                values["is"], std["is"] = inception_score(logits, self.is_splits, self.seed)
        return values, std, skipped
