"""Test-run setup: nbval's kernels inherit this process's environment, so fix it before any starts."""

from tools.notebooks import apply_kernel_env

apply_kernel_env()
