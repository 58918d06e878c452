"""The file `jupyterhub -f` reads for a class: everything comes from classroom.hubconfig."""
from classroom.hubconfig import configure_from_environment

configure_from_environment(c)  # noqa: F821 (JupyterHub's config object)
