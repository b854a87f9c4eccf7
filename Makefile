# The two commands of the README's quick start:
#   make demo       installs what the demo needs and runs it (CRM on :5000, Xero emulator on :5055)
#   make test       installs what the tests need and runs lint, type checks and the whole suite
# and for CI (.ci/run runs both test targets):
#   make test-min   the suite again on the OLDEST supported dependencies (in Chromium: the example hosts)
#                   (constraints-min.txt, in its own virtualenv .venv-min)
#   make test CLOCK_SHIFT_DAYS=400   the suite with every Python process's wall clock moved
#                   400 days ahead (.ci/run does this for test-min); the install steps keep the
#                   real clock
.PHONY: demo test test-min test-min-suite bootstrap bootstrap-min lint

bootstrap:
	scripts/bootstrap.sh

bootstrap-min:
	VENV=.venv-min CONSTRAINTS=constraints-min.txt scripts/bootstrap.sh

demo: bootstrap
	.venv/bin/python demo_app.py $(DEMO_ARGS)

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

test: bootstrap lint
	scripts/install_chromium.sh
	XP_CLOCK_SHIFT_DAYS=$(CLOCK_SHIFT_DAYS) XP_TEST_CONSTRAINTS=constraints.txt .venv/bin/pytest $(PYTEST_ARGS)

# The oldest set runs every test but the in-browser ones, which check the panel's HTML, CSS
# and JavaScript (the same bytes whatever the Python packages), then the example hosts in
# Chromium, which install the built wheel with these versions.
test-min: bootstrap-min test-min-suite

# test-min without installing (.ci/run installs first, then runs it beside `make test`).
test-min-suite:
	scripts/install_chromium.sh
	XP_CLOCK_SHIFT_DAYS=$(CLOCK_SHIFT_DAYS) XP_TEST_CONSTRAINTS=constraints-min.txt .venv-min/bin/pytest -m "not browser" $(PYTEST_ARGS)
	XP_CLOCK_SHIFT_DAYS=$(CLOCK_SHIFT_DAYS) XP_TEST_CONSTRAINTS=constraints-min.txt .venv-min/bin/pytest tests/browser/test_examples.py $(PYTEST_ARGS)
