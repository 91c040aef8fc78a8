"""Build tooling for OVM: validates board and scenario files, generates the
configuration sources, drives make and reports the image sizes."""
