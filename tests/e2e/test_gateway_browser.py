"""Swagger UI in headless Chromium: the offline page lists every operation and "Try it out" creates an order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from service.runtime.http_server import RunningGateway
from tests.helpers import token, cpf, unique

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--window-size=1400,2200",
]

pytestmark = pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason="needs Debian's chromium and chromium-driver")

UI_TOKEN = token("swagger-ui")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    yield driver
    driver.quit()


def _wait(driver: WebDriver, condition: object, seconds: float = 30) -> object:
    return WebDriverWait(driver, seconds).until(condition)  # type: ignore[arg-type]


def test_docs_list_every_operation_and_try_it_out_creates_an_order(
    browser: WebDriver, gateway: RunningGateway, http: httpx.Client
) -> None:
    customer = http.post("/v1/customers", json={"name": "UI", "document": cpf(), "email": f"{unique()}@example.com"}).json()
    product = http.post("/v1/products", json={"sku": unique("SKU-"), "name": "W", "price": {"units": "5"}, "initialStock": "3"}).json()
    operations = sum(len(p) for p in http.get("/openapi.json").json()["paths"].values())

    browser.get(f"http://127.0.0.1:{gateway.port}/docs")
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) == operations)

    groups = [el.get_attribute("data-tag") for el in browser.find_elements(By.CSS_SELECTOR, ".opblock-tag")]
    assert groups == ["Customers", "Products", "Orders", "Order events"]
    assert "erp-orders token --sub" in browser.find_element(By.CSS_SELECTOR, ".information-container").text

    browser.find_element(By.CSS_SELECTOR, "button.authorize").click()
    _wait(browser, seen.visibility_of_element_located((By.CSS_SELECTOR, ".auth-container input"))).send_keys(UI_TOKEN)  # type: ignore[attr-defined]
    browser.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper button.authorize").click()
    browser.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper button.btn-done").click()

    block = browser.find_element(By.ID, "operations-Orders-CreateOrder")
    block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    _wait(browser, seen.element_to_be_clickable((By.CSS_SELECTOR, "#operations-Orders-CreateOrder .try-out__btn"))).click()  # type: ignore[attr-defined]
    body = block.find_element(By.CSS_SELECTOR, "textarea.body-param__text")
    body.clear()
    body.send_keys(json.dumps({"customerId": customer["id"], "items": [{"productId": product["id"], "quantity": 2}]}))
    block.find_element(By.CSS_SELECTOR, 'tr[data-param-name="Idempotency-Key"] input').send_keys(unique("ui-"))
    block.find_element(By.CSS_SELECTOR, "button.execute").click()

    status = _wait(browser, seen.visibility_of_element_located((By.CSS_SELECTOR, "#operations-Orders-CreateOrder .live-responses-table tbody .response-col_status")))
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", status)
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "swagger-ui-create-order.png"))
    assert status.text.strip().startswith("201")  # type: ignore[attr-defined]
    curl = block.find_element(By.CSS_SELECTOR, ".curl-command").text
    assert f"Authorization: Bearer {UI_TOKEN}" in curl and "Idempotency-Key: ui-" in curl
    assert http.get(f"/v1/products/{product['id']}").json()["stockQuantity"] == "1"
