"""Running the trials: Ray Tune drives them, Optuna samples and prunes, then the refit.

The only part of the service that imports Ray; its modules load Ray on use, so importing a name
from here (trial attributes, curves) stays cheap.
"""
