# dfkd-book — every target bootstraps .venv itself (Python packages + Fashion-MNIST), so a fresh clone needs
# nothing but Python >= 3.10, make and npm (Debian's npm is installed when run as root with apt-get).
#   make book                  execute every chapter (full profile), refresh the .py twins, build the site
#   make book PROFILE=quick    the same with the quick profile (a preview; overwrites the committed outputs)
#   make test                  ruff, unit tests, twin check, nbval (quick), book build (-W), the browser check
#   make site                  build the site from the committed outputs without executing anything
#                              (site, book and test first fetch MathJax once from npm into _vendor/: the site
#                              serves it itself and renders its equations offline)
#   make site-check            serve the built site on loopback, screenshot it in headless Chromium, check it
#   make bench                 python -m dfkd_book.experiments.bench all --seeds 3 + the README leaderboard
#   make lab                   JupyterLab on the notebooks

PROFILE ?= full
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
MATHJAX_VERSION := 3.2.2
#: MathJax for the site, served from _static/mathjax/ (see html_static_path and mathjax_path in _config.yml)
MATHJAX := _vendor/mathjax-$(MATHJAX_VERSION).stamp
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: help setup data browser mathjax book site site-check bench test lint lab clean
.DEFAULT_GOAL := help

help:
	@sed -n '1,12p' Makefile | sed 's/^# \{0,1\}//'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[book,dev]"
	@touch $(STAMP)

setup: $(STAMP) data

# Fashion-MNIST offline: the Debian package when we are root with apt-get, else torchvision's download.
data: $(STAMP)
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing the Debian package dataset-fashion-mnist"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	fi
	@$(BIN)/python -c "from dfkd_book import data; d = data.load('fashion-mnist', 'test'); print('Fashion-MNIST ready:', len(d), 'test images')"

# Headless Chromium for the site check: Debian's package when we are root with apt-get.
browser:
	@if ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing the Debian package chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi
	@command -v chromium >/dev/null 2>&1 || { echo "no chromium: install Debian's chromium package"; exit 1; }

# MathJax $(MATHJAX_VERSION) from the npm registry (npm pack: the registry's tarball, integrity-checked by npm), unpacked
# into the ignored _vendor/static/mathjax/: the combined TeX+MathML→CHTML component and what it loads lazily (fonts,
# TeX extensions, MathML entities, menu, accessibility). Done once per version; Debian's npm when root with apt-get.
mathjax: $(MATHJAX)

$(MATHJAX):
	@if ! command -v npm >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing the Debian package npm"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; \
	fi
	@command -v npm >/dev/null 2>&1 || { echo "no npm: the site serves MathJax $(MATHJAX_VERSION) itself and fetches it from \
	the npm registry; install npm (Debian: apt-get install npm) and run make again"; exit 1; }
	@echo "Fetching MathJax $(MATHJAX_VERSION) from the npm registry into _vendor/static/mathjax"
	@rm -rf _vendor/static/mathjax _vendor/pack _vendor/mathjax-*.stamp && mkdir -p _vendor/pack _vendor/static/mathjax
	@cd _vendor/pack && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null
	@tar -xzf _vendor/pack/mathjax-$(MATHJAX_VERSION).tgz -C _vendor/static/mathjax --strip-components=1 package/LICENSE
	@tar -xzf _vendor/pack/mathjax-$(MATHJAX_VERSION).tgz -C _vendor/static/mathjax --strip-components=2 \
		package/es5/tex-mml-chtml.js package/es5/output/chtml package/es5/input/tex package/es5/input/mml \
		package/es5/a11y package/es5/ui package/es5/sre
	@rm -rf _vendor/pack
	@test -f _vendor/static/mathjax/tex-mml-chtml.js && touch $@

book: setup
	@for nb in $(NOTEBOOKS); do \
		echo "== executing $$nb (profile $(PROFILE))"; \
		DFKD_BOOK_PROFILE=$(PROFILE) $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.timeout=-1 --ExecutePreprocessor.kernel_name=python3 "$$nb" || exit 1; \
	done
	$(BIN)/python -m dfkd_book.chapters --strip-widgets $(NOTEBOOKS)
	$(BIN)/jupytext --sync $(NOTEBOOKS)
	$(MAKE) --no-print-directory site

site: $(STAMP) $(MATHJAX)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@test -f _build/html/index.html
	@echo "Site built: $(abspath _build/html/index.html)"

site-check: $(STAMP) browser
	@test -f _build/html/index.html || { echo "no built site: run make site first"; exit 1; }
	DFKD_BOOK_SITE=_build/html $(BIN)/python -m pytest tests/test_site.py -p no:cacheprovider
	@echo "Screenshots: $(abspath _build/screenshots)"

bench: setup
	DFKD_BOOK_PROFILE=$(PROFILE) $(BIN)/python -m dfkd_book.experiments.bench all --seeds 3
	$(BIN)/python -m dfkd_book.experiments.leaderboard --write

lint: $(STAMP)
	$(BIN)/ruff check dfkd_book tests notebooks

test: setup browser lint $(MATHJAX)
	DFKD_BOOK_PROFILE=quick $(BIN)/python -m pytest tests $(NOTEBOOKS) --nbval-lax --nbval-current-env --durations=10
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@test -f _build/html/index.html && echo "Site built: $(abspath _build/html/index.html)"
	$(MAKE) --no-print-directory site-check

lab: setup
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf _build .pytest_cache
