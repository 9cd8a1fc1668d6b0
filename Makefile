# Two commands for users: `make report` and `make test`. Both create or refresh
# a local .venv first, so a fresh clone needs only Python >= 3.11 and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# pytest-xdist spreads the tests over the machine's cores
JOBS   ?= auto

.PHONY: report test test-fast install browser clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "incident needs Python >= 3.11 (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

report: $(STAMP)
	$(BIN)/incident report data/weimob-2020 -o reports/weimob-2020.html

# The browser checks of the report need Debian's chromium, and the figures' Chinese
# names a CJK font; the Spark engine's tests need a Java runtime. Install them
# when we can (root with apt), otherwise those tests are skipped outside CI.
browser:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Noto Sans CJK" && command -v java >/dev/null 2>&1; } || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk default-jre-headless >/dev/null) ; } || \
	  echo "note: chromium, fonts-noto-cjk or java not installed; the browser, CJK and Spark tests will be skipped"

test: $(STAMP) browser
	$(BIN)/python -m pytest -q -n $(JOBS)

# The developer's loop: everything but kernels, browsers and builds.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS) -m "not slow"

clean:
	rm -rf $(VENV) reports .pytest_cache
