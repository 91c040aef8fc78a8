"""OVM Lab: tooling around the OVM TrustZone hypervisor."""
