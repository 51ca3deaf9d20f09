"""Deployment drivers: how a release is installed on, verified on and rolled back from one
target. Each is one small class behind `Driver`; `DRIVERS` names them for target specs."""
