# The lakehouse's entry points. `make demo` and `make test` work on a fresh machine: they create
# the virtual environment and install the pinned dependencies first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DATE ?= 2025-08-01
DAYS ?= 1
ROWS_PER_DEVICE ?= 1440

export SPARK_LOCAL_IP ?= 127.0.0.1
export DBT_SEND_ANONYMOUS_USAGE_STATS ?= false
export DO_NOT_TRACK ?= 1

.PHONY: demo test lint pytest install java chromium airflow airflow-stop docs docs-stop server server-stop cluster cluster-stop bench bench-quick clean lock help

help:
	@echo "make demo    generate $(DATE), ingest it, dbt build it, write its metrics, print Gold KPIs"
	@echo "make test    lint the SQL (sqlfluff) and Python (ruff), then run the test suite"
	@echo "make airflow start Airflow on http://127.0.0.1:8080 with the DAG on simulated days (make airflow-stop)"
	@echo "make docs    generate the dbt docs and serve them on http://127.0.0.1:8081 (make docs-stop)"
	@echo "make server start the Spark Thrift + Connect server on 127.0.0.1 (make server-stop);"
	@echo "            then TELEMETRY_DBT_TARGET=server selects it (MASTER=spark://... for a cluster)"
	@echo "make cluster start a standalone Spark master and 2 workers on 127.0.0.1 (make cluster-stop)"
	@echo "make bench   benchmark a 1 Hz fleet day, 4x, and 30 days of history (make bench-quick: ~2 min)"
	@echo "make clean   remove the lakehouse (data/) and dbt's target/ and logs/"

# Spark 4 needs Java 17 or newer: stop at once, with the way to get it, when it is missing.
java:
	@v=$$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\(\.\([0-9]*\)\)\{0,1\}.*/\1 \3/p' | head -n 1); \
	major=$${v%% *}; [ "$$major" = "1" ] && major=$${v##* }; \
	if [ -z "$$major" ] || [ "$$major" -lt 17 ]; then \
	  echo "error: Spark 4 needs Java 17 or newer; found: $${major:-no java on PATH}." >&2; \
	  echo "Install it, e.g. 'sudo apt-get install openjdk-17-jre-headless' (Debian/Ubuntu)" >&2; \
	  echo "or 'brew install openjdk@17' (macOS), then run make again." >&2; \
	  exit 1; \
	fi

$(INSTALLED): pyproject.toml constraints.txt telemetry/settings.py jvm/energytelemetry/hadoop/LocalFileSystem.java
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,airflow]'
	$(BIN)/telemetry jars
	@touch $@

install: $(INSTALLED)

demo: java $(INSTALLED)
	$(BIN)/telemetry generate --start $(DATE) --days $(DAYS) --rows-per-device $(ROWS_PER_DEVICE)
	$(BIN)/telemetry run --date $(DATE)

lint: $(INSTALLED)
	$(BIN)/ruff check ingest telemetry tests dags bench
	$(BIN)/sqlfluff lint models tests/dbt analyses

# The docs-site test drives Debian's Chromium; install it when missing (needs root or sudo).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the docs-site test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

pytest: java chromium $(INSTALLED)
	$(BIN)/python -m pytest

# Local services, each `telemetry <service> start` (`make <service>-stop` ends it).
SERVICES := airflow docs server cluster
$(SERVICES): java $(INSTALLED)
	$(if $(filter airflow,$@),TELEMETRY_RAW_SOURCE=$${TELEMETRY_RAW_SOURCE:-simulated}) \
	  $(BIN)/telemetry $@ start $(if $(and $(filter server,$@),$(MASTER)),--master $(MASTER))

$(addsuffix -stop,$(SERVICES)): $(INSTALLED)
	$(BIN)/telemetry $(@:-stop=) stop

bench: java $(INSTALLED)
	$(BIN)/python -m bench.run

bench-quick: java $(INSTALLED)
	$(BIN)/python -m bench.run --quick

test: lint pytest

# Re-pin every dependency after changing pyproject.toml (in a throw-away environment).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev,airflow]'
	{ echo "# Every package the project installs, pinned: pip install -c constraints.txt keeps a fresh install identical."; \
	  echo "# Regenerate with 'make lock' after changing pyproject.toml."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | sort -f; } > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf data target logs
