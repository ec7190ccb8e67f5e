"""A real browser on the dashboard and the report: headless Debian Chromium driven by Playwright.

Screenshots go to $HPSEARCH_SCREENSHOTS (default: a pytest temp folder; the path is printed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from search.report.dashboard import beside

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
# As root and offline: no sandbox, no GPU, and none of Chromium's calls home.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("HPSEARCH_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {folder}")
    return folder


def test_dashboard_shows_the_study_and_its_trials(finished, browser, screenshots) -> None:
    result, spec, _ = finished
    import optuna

    trials = optuna.load_study(
        study_name=spec.name, storage=f"sqlite:///{result.run_dir / 'optuna.db'}"
    ).trials
    with beside(f"sqlite:///{result.run_dir / 'optuna.db'}", "127.0.0.1", 0) as address:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(address)
        page.get_by_text(f"1. {spec.name}").click()  # the study list links to the study
        page.wait_for_url("**/studies/1")
        page.get_by_text("Intermediate values").wait_for()
        page.screenshot(path=screenshots / "dashboard_study.png", full_page=True)
        page.goto(address + "studies/1/trials")
        for trial in trials:
            page.get_by_text(f"Trial {trial.number}", exact=False).first.wait_for()
        states = {t.state.name.capitalize() for t in trials}
        text = page.inner_text("body")
        assert all(state in text for state in states), (states, text[:500])
        page.screenshot(path=screenshots / "dashboard_trials.png", full_page=True)
        page.close()
    assert (screenshots / "dashboard_trials.png").stat().st_size > 10_000


def test_every_image_of_the_report_loads(finished, browser, screenshots) -> None:
    result, _, _ = finished
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto((result.run_dir / "report.html").as_uri())
    images = page.eval_on_selector_all(
        "img", "all => all.map(i => ({alt: i.alt, done: i.complete, width: i.naturalWidth}))"
    )
    # Importances need 5 complete trials, and a front backbones or bounds: the tiny study has
    # neither.
    assert len(images) == 7
    assert all(image["done"] and image["width"] > 100 for image in images), images
    assert "The trials across their parameters" in [image["alt"] for image in images]
    assert page.title() == f"hpsearch: {finished[1].name}"
    page.screenshot(path=screenshots / "report.png", full_page=True)
    page.close()


def test_the_dashboard_names_the_metric_and_shows_the_study_note(finished, browser, screenshots):
    from search.report.study_note import NOTE_TITLE

    result, spec, _ = finished
    with beside(f"sqlite:///{result.run_dir / 'optuna.db'}", "127.0.0.1", 0) as address:
        page = browser.new_page(viewport={"width": 1280, "height": 1200})
        page.goto(address + "studies/1")
        page.get_by_text("Intermediate values").wait_for()
        text = page.inner_text("body")
        assert spec.search.metric in text and "Objective 0" not in text
        page.goto(address + "studies/1/note")
        page.get_by_text(NOTE_TITLE).wait_for()  # rendered from markdown: a heading
        note = page.inner_text("body").split(NOTE_TITLE, 1)[1]
        assert "Fine-tuning efficientnet_lite0, weights: none on fake, 16 px" in note
        assert "Result: trial " in note and "**" not in note
        page.screenshot(path=screenshots / "dashboard_note.png", full_page=True)
        page.close()


def test_the_report_shows_what_was_searched_every_trial_and_its_making(finished, browser):
    result, spec, _ = finished
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto((result.run_dir / "report.html").as_uri())
    headings = page.eval_on_selector_all("h2", "all => all.map(h => h.textContent)")
    for heading in (
        "What was searched",
        "The trials across their parameters",
        "Trials",
        "About this report",
    ):
        assert heading in headings, headings
    searched = page.inner_text("table:below(h2:text('What was searched'))")
    assert "searched: lr" in searched and "float 0.0001 to 0.01, log" in searched
    trials = page.eval_on_selector_all("h2:text('Trials') + table tr", "rows => rows.length")
    assert trials == 1 + spec.search.trials  # a header and a row a trial
    about = page.inner_text("h2:text('About this report') + p")
    assert about.startswith("Written ") and "hpsearch " in about and "optuna " in about
    importances = page.inner_text("h2:text('Hyperparameter importances') + *")
    assert "complete trials" in importances
    page.close()
