// Debian's Chromium driven by playwright-core, for the dashboard's tests:
// headless, no sandbox (tests may run as root in CI), nothing that phones
// home. A missing Chromium fails the test with what to install.

import { chromium, type Browser } from 'playwright-core'
import { findBinary } from './proxies.js'

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'
]

export async function launchChromium (): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? findBinary('chromium')
  return await chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 30_000 })
}
