# dfkd-book — every target bootstraps .venv itself (Python packages + Fashion-MNIST), so a fresh clone needs
# nothing but Python >= 3.10 and make.
#   make book                  execute every chapter (full profile), refresh the .py twins, build the site
#   make book PROFILE=quick    the same with the quick profile (a preview; overwrites the committed outputs)
#   make test                  ruff, unit tests, twin check, nbval (quick), book build (-W), the browser check
#   make site                  build the site from the committed outputs without executing anything
#   make site-check            serve the built site on loopback, screenshot it in headless Chromium, check it
#   make bench                 python -m dfkd_book.bench all (every method, full profile) + the README leaderboard
#   make lab                   JupyterLab on the notebooks

PROFILE ?= full
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: help setup data browser book site site-check bench test lint lab clean
.DEFAULT_GOAL := help

help:
	@sed -n '1,10p' Makefile | sed 's/^# \{0,1\}//'

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

book: setup
	@for nb in $(NOTEBOOKS); do \
		echo "== executing $$nb (profile $(PROFILE))"; \
		DFKD_BOOK_PROFILE=$(PROFILE) $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.timeout=-1 --ExecutePreprocessor.kernel_name=python3 "$$nb" || exit 1; \
	done
	$(BIN)/jupytext --sync $(NOTEBOOKS)
	$(MAKE) --no-print-directory site

site: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@test -f _build/html/index.html
	@echo "Site built: $(abspath _build/html/index.html)"

site-check: $(STAMP) browser
	@test -f _build/html/index.html || { echo "no built site: run make site first"; exit 1; }
	DFKD_BOOK_SITE=_build/html $(BIN)/python -m pytest tests/test_site.py -p no:cacheprovider
	@echo "Screenshots: $(abspath _build/screenshots)"

bench: setup
	DFKD_BOOK_PROFILE=$(PROFILE) $(BIN)/python -m dfkd_book.bench all
	$(BIN)/python -m dfkd_book.leaderboard --write

lint: $(STAMP)
	$(BIN)/ruff check dfkd_book tests notebooks

test: setup browser lint
	DFKD_BOOK_PROFILE=quick $(BIN)/python -m pytest tests $(NOTEBOOKS) --nbval-lax --nbval-current-env --durations=10
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@test -f _build/html/index.html && echo "Site built: $(abspath _build/html/index.html)"
	$(MAKE) --no-print-directory site-check

lab: setup
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf _build .pytest_cache
