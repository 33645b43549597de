"""A phone on a slow network: each page's cold load in Chromium, throttled, and what it transfers.

Throttled as Slow 4G (1.6 Mbit/s down, 750 kbit/s up, 150 ms latency) with the CPU 4x slower,
at a phone's width, with an empty cache. Used by the browser test (which asserts the byte
budgets) and by `make bench` (which prints the times against their targets too).
"""

from __future__ import annotations

from dataclasses import dataclass

SLOW_4G = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1.6 * 1024 * 1024 / 8,
    "uploadThroughput": 750 * 1024 / 8,
}
CPU_SLOWDOWN = 4
PHONE = {"width": 390, "height": 844}

# Cold load targets (seconds) and transfer budgets (KB) per kind of page.
# The load time is to the end of the load event; a page with charts also reports when its first
# chart was drawn.
TARGET_SECONDS = {"vote page": 1.0, "dashboard": 1.2, "squad page": 1.5, "trends page": 3.0}
BUDGET_KB = {"vote page": 120, "dashboard": 150, "squad page": 120, "trends page": 550}


@dataclass
class Load:
    name: str
    path: str
    seconds: float  # from navigation start to the end of the load event
    drawn: float | None  # from navigation start until the first chart is drawn, on a page with charts
    kilobytes: float  # transferred, compressed, headers included
    requests: int

    @property
    def budget(self) -> int:
        return BUDGET_KB[self.name]

    @property
    def target(self) -> float:
        return TARGET_SECONDS[self.name]


def cold_load(browser, base: str, cookies: list[dict], name: str, path: str) -> Load:
    """Open one page in a fresh context (nothing cached), throttled, and wait for its charts."""
    context = browser.new_context(viewport=PHONE)
    context.add_cookies(cookies)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_4G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    sizes: dict[str, int] = {}
    cdp.on(
        "Network.loadingFinished",
        lambda event: sizes.__setitem__(event["requestId"], event["encodedDataLength"]),
    )
    try:
        response = page.goto(base + path, wait_until="load")
        if response is None or response.status != 200:
            raise AssertionError(f"{path} answered {response.status if response else 'nothing'}")
        page.wait_for_function("performance.getEntriesByType('navigation')[0].loadEventEnd > 0")
        drawn = None
        if page.locator("[data-chart]").count():
            page.wait_for_selector("[data-chart] .main-svg")
            drawn = page.evaluate("performance.now()") / 1000
        seconds = (
            page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime }"
            )
            / 1000
        )
        page.wait_for_load_state("networkidle")
        return Load(name, path, seconds, drawn, sum(sizes.values()) / 1024, len(sizes))
    finally:
        context.close()


def report(loads: list[Load]) -> list[str]:
    """The table `make bench` prints, and the pages over their budget or target."""
    print(
        f"{'page (cold, Slow 4G, 4x CPU)':<30} {'load s':>7} {'charts s':>9} {'target':>7} "
        f"{'KB':>6} {'budget':>7} {'requests':>9}"
    )
    missed = []
    for load in loads:
        late = load.seconds > load.target
        heavy = load.kilobytes > load.budget
        print(
            f"{load.name + ' ' + load.path:<30.30} {load.seconds:>7.2f} "
            f"{'' if load.drawn is None else format(load.drawn, '.2f'):>9} {load.target:>7.1f} "
            f"{load.kilobytes:>6.0f} {load.budget:>7} {load.requests:>9}"
            + (" MISS" if late or heavy else " ok")
        )
        if late:
            missed.append(f"{load.name} time")
        if heavy:
            missed.append(f"{load.name} bytes")
    return missed
