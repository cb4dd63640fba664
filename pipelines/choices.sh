# SPDX-License-Identifier: GPL-3.0-or-later
# choices.sh: the one list of the names the pipelines accept for their
# variables. Sourced by check.sh; a name missing here is refused before any
# simulation runs, so add it here when a tool learns it.

# simulate --routing (POLICIES: ROUTING or ROUTING+ADMISSION)
ROUTING_POLICIES="round-robin least-loaded weighted prefix-affinity"
# simulate --admission
ADMISSION_POLICIES="always token-bucket reject-all slo-shed"
# simulate --latency-model (LATENCY_MODEL)
LATENCY_MODELS="blackbox roofline physics"
# gen-workload --from (TRACE=FORMAT:FILE)
TRACE_FORMATS="azure mooncake burstgpt servegen csv"
