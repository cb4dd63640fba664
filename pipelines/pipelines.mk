# SPDX-License-Identifier: GPL-3.0-or-later
# pipelines.mk: the experiment pipelines, included by the top-level Makefile.
# docs/pipelines.md describes each target, its variables and its outputs.
#
#   make saturation    latency and throughput against offered load, knee marked
#   make policies      one workload through each routing/admission policy
#   make capacity      smallest instance count meeting the SLOs at RATE
#   make replay        a real trace through chosen configurations
#   make calibration   import -> fit -> validate -> report on measured vLLM runs
#   make figures       regenerate docs/figures/ from the pipelines
#
# Every target keeps its work in $(OUT)/TARGET/ and writes its results under
# temporary names renamed into place. $(OUT)/TARGET/params records the values
# of the variables the target uses; it is rewritten (after check.sh accepted
# them) only when they change, so an up-to-date target runs nothing.

OUT            ?= results
JOBS           ?= 2
SSHLOGIN       ?=
MODEL          ?= meta-llama/llama-3.1-8b-instruct
GPU            ?= H100
TP             ?= 1
LATENCY_MODEL  ?=
SIMFLAGS       ?=
WORKLOAD       ?= -n 2000
SEEDS          ?= 1 2
RATES          ?= 2 4 8 12 16 20 24 32
KNEE           ?= 0.95
RATE           ?= 16
POLICIES       ?= round-robin least-loaded
INSTANCES      ?= 4
SLO_TTFT_MS    ?= 500
SLO_TPOT_MS    ?= 50
SLO_ATTAINMENT ?= 0.99
MAX_INSTANCES  ?= 64
GPUS           ?= $(GPU)
TRACE          ?= azure:../shared/data/traces/azure-llm-2023/AzureLLMInferenceTrace_code.csv
CONFIGS        ?=
CALIB_TRAIN    ?= $(sort $(filter-out %_ground_truth.json,\
                  $(wildcard ../shared/data/groundtruth/vllm-h100-train/*-llama-2-7b-tp1-*.json)))
CALIB_TEST     ?= $(CALIB_TRAIN)
FIT_ITERATIONS ?= 300
WARMUP_US      ?= 20000000

PL_VARS := OUT JOBS SSHLOGIN MODEL GPU TP LATENCY_MODEL SIMFLAGS WORKLOAD SEEDS RATES KNEE \
           RATE POLICIES INSTANCES SLO_TTFT_MS SLO_TPOT_MS SLO_ATTAINMENT MAX_INSTANCES GPUS \
           TRACE CONFIGS CALIB_TRAIN CALIB_TEST FIT_ITERATIONS WARMUP_US
# passed to the scripts in their environment (check.sh refuses values with quotes)
PL_ENV = $(foreach v,$(PL_VARS),$(v)='$(strip $($(v)))')

PL_TOOLS  := bin/gen-workload bin/simulate bin/summarize
PL_COMMON := pipelines/lib.sh pipelines/grid.sh pipelines/point.sh pipelines/summary.jq
PL_ENGINE := MODEL GPU TP LATENCY_MODEL SIMFLAGS

# the variables each target's results depend on (JOBS and SSHLOGIN never change them)
PL_USES_saturation  := $(PL_ENGINE) WORKLOAD SEEDS RATES KNEE SLO_TTFT_MS SLO_TPOT_MS
PL_USES_policies    := $(PL_ENGINE) WORKLOAD SEEDS RATE POLICIES INSTANCES SLO_TTFT_MS SLO_TPOT_MS
PL_USES_capacity    := $(PL_ENGINE) WORKLOAD SEEDS RATE POLICIES GPUS MAX_INSTANCES \
                       SLO_TTFT_MS SLO_TPOT_MS SLO_ATTAINMENT
PL_USES_replay      := $(PL_ENGINE) TRACE CONFIGS INSTANCES POLICIES SLO_TTFT_MS SLO_TPOT_MS
PL_USES_calibration := CALIB_TRAIN CALIB_TEST FIT_ITERATIONS WARMUP_US

# $(call pl_text,TARGET): the params line of TARGET
pl_text = $(strip $(foreach v,$(PL_USES_$(1)),$(v)=$(strip $($(v)));))
# $(call pl_eq,A,B): non-empty when the strings A and B are equal
pl_eq = $(and $(findstring x$(1)y,x$(2)y),$(findstring x$(2)y,x$(1)y))
# $(call pl_stale,TARGET): PL_FORCE when TARGET's params file differs from its variables
pl_stale = $(if $(call pl_eq,$(strip $(if $(wildcard $(OUT)/$(1)/params),$(file <$(OUT)/$(1)/params))),$(call pl_text,$(1))),,PL_FORCE)

# the params file of a target: the variables checked, then recorded
define pl_params_rule
$(OUT)/$(1)/params: $(call pl_stale,$(1)) | $(PL_TOOLS)
	@$(PL_ENV) sh pipelines/check.sh $(1)
	@mkdir -p $$(@D) && printf '%s\n' '$(call pl_text,$(1))' > $$@.tmp && mv $$@.tmp $$@
endef
$(foreach t,saturation policies capacity replay calibration,$(eval $(call pl_params_rule,$(t))))

.PHONY: saturation policies capacity replay calibration figures PL_FORCE
PL_FORCE:

saturation: $(OUT)/saturation.csv $(OUT)/saturation.png
$(OUT)/saturation.csv: $(OUT)/saturation/params $(PL_TOOLS) $(PL_COMMON) pipelines/saturation.sh pipelines/saturation.jq
	@$(PL_ENV) sh pipelines/saturation.sh $(OUT)
$(OUT)/saturation.png: $(OUT)/saturation.csv pipelines/plot.sh pipelines/saturation.gp
	@$(PL_ENV) sh pipelines/plot.sh saturation $< $@

policies: $(OUT)/policies.csv $(OUT)/policies.png
$(OUT)/policies.csv: $(OUT)/policies/params $(PL_TOOLS) $(PL_COMMON) pipelines/policies.sh
	@$(PL_ENV) sh pipelines/policies.sh $(OUT)
$(OUT)/policies.png: $(OUT)/policies.csv pipelines/plot.sh pipelines/policies.gp
	@$(PL_ENV) sh pipelines/plot.sh policies $< $@

capacity: $(OUT)/capacity.txt
$(OUT)/capacity.txt: $(OUT)/capacity/params $(PL_TOOLS) $(PL_COMMON) pipelines/capacity.sh
	@$(PL_ENV) sh pipelines/capacity.sh $(OUT)

replay: $(OUT)/replay.csv
$(OUT)/replay.csv: $(OUT)/replay/params $(PL_TOOLS) $(PL_COMMON) pipelines/replay.sh
	@$(PL_ENV) sh pipelines/replay.sh $(OUT)

calibration: $(OUT)/calibration.csv
$(OUT)/calibration.csv: $(OUT)/calibration/params bin/calibrate bin/simulate pipelines/calibration.sh
	@$(PL_ENV) sh pipelines/calibration.sh $(OUT)

# The checked-in figures: the defaults, except a finer grid of rates and three seeds.
PL_FIGURE_OUT := $(BUILD)/figures
figures:
	@$(MAKE) --no-print-directory saturation OUT=$(PL_FIGURE_OUT) SEEDS="1 2 3" \
	    RATES="2 4 6 8 10 12 14 16 17 18 19 20 22 24 28 32" WORKLOAD="-n 2000"
	@$(MAKE) --no-print-directory policies OUT=$(PL_FIGURE_OUT) SEEDS="1 2" INSTANCES=8 RATE=80 \
	    POLICIES="round-robin least-loaded weighted prefix-affinity" \
	    WORKLOAD="-n 4000 --prefix-tokens 256"
	@mkdir -p docs/figures
	@for f in saturation policies; do \
	    cmp -s $(PL_FIGURE_OUT)/$$f.png docs/figures/$$f.png || \
	    { cp $(PL_FIGURE_OUT)/$$f.png docs/figures/$$f.png.tmp && \
	      mv docs/figures/$$f.png.tmp docs/figures/$$f.png && \
	      echo "figures: updated docs/figures/$$f.png"; }; done
