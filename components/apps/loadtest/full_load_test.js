// The seed's load test (tests/load/scenarios/full_load_test.js of the milestone document): its
// user journey, its three scenarios and its thresholds, run by k6 or by the k6-operator TestRun
// of the stack's `loadTest` section.
//
// Environment:
//   BASE_URL   the API's public URL, e.g. https://staging.smartdairy.com (required)
//   SCENARIOS  comma-separated subset of ramp_up, spike_test, soak_test; each then starts at
//              once instead of at its place in the seed's 85-minute schedule (default: all, as
//              scheduled)

import http from 'k6/http';
import { check, group, sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';

// The journey's shares and pauses; capacity/assumptions.py models the same figures.
export const JOURNEY = {
  authenticatedShare: 0.7,
  addToCartShare: 0.1,
  orderShare: 0.01,
  thinkTimeSeconds: { min: 1, max: 3 },
  searchTerms: ['milk', 'cheese', 'yogurt', 'butter', 'cream'],
};

export const SCENARIOS = {
  ramp_up: {
    executor: 'ramping-vus',
    startVUs: 0,
    stages: [
      { duration: '2m', target: 100 },
      { duration: '5m', target: 500 },
      { duration: '10m', target: 2000 },
      { duration: '15m', target: 5000 },
      { duration: '10m', target: 10000 },
      { duration: '5m', target: 10000 },
      { duration: '5m', target: 0 },
    ],
    gracefulRampDown: '1m',
  },
  spike_test: {
    executor: 'ramping-vus',
    startVUs: 0,
    stages: [
      { duration: '30s', target: 5000 },
      { duration: '1m', target: 5000 },
      { duration: '30s', target: 0 },
    ],
    startTime: '50m',
  },
  soak_test: {
    executor: 'constant-vus',
    vus: 1000,
    duration: '30m',
    startTime: '55m',
  },
};

function selectedScenarios(list) {
  if (!list) {
    return SCENARIOS;
  }
  const chosen = {};
  for (const name of list.split(',').map((s) => s.trim())) {
    if (!(name in SCENARIOS)) {
      throw new Error(`unknown scenario ${name}; choose from ${Object.keys(SCENARIOS).join(', ')}`);
    }
    const { startTime, ...alone } = SCENARIOS[name]; // eslint-disable-line no-unused-vars
    chosen[name] = alone;
  }
  return chosen;
}

export const options = {
  scenarios: selectedScenarios(__ENV.SCENARIOS),
  thresholds: {
    http_req_duration: ['p(95)<300', 'p(99)<500'],
    http_req_failed: ['rate<0.01'],
    errors: ['rate<0.05'],
    api_latency: ['p(95)<250'],
  },
};

const BASE_URL = __ENV.BASE_URL;
const errors = new Rate('errors');
const apiLatency = new Trend('api_latency');
const ordersCreated = new Counter('orders_created');

function headers(token) {
  const base = { 'Content-Type': 'application/json', Accept: 'application/json' };
  return token ? { ...base, Authorization: `Bearer ${token}` } : base;
}

function pick(items) {
  return items[Math.floor(Math.random() * items.length)];
}

function timed(response, checks) {
  check(response, checks);
  apiLatency.add(response.timings.duration);
  return response;
}

function logIn() {
  if (Math.random() >= JOURNEY.authenticatedShare) {
    return null;
  }
  const res = http.post(
    `${BASE_URL}/api/v1/auth/login`,
    JSON.stringify({ email: `user${Math.floor(Math.random() * 10000)}@test.com`, password: 'testpassword123' }),
    { headers: headers() },
  );
  return res.status === 200 ? res.json('access_token') : null;
}

function browse() {
  const list = timed(http.get(`${BASE_URL}/api/v2/products?page=1&limit=20`, { headers: headers() }), {
    'products list status 200': (r) => r.status === 200,
    'products list < 300ms': (r) => r.timings.duration < 300,
  });
  errors.add(list.status !== 200);
  const products = list.status === 200 ? list.json('products') || [] : [];
  if (products.length > 0) {
    timed(http.get(`${BASE_URL}/api/v2/products/${pick(products).id}`, { headers: headers() }), {
      'product detail status 200': (r) => r.status === 200,
      'product detail < 200ms': (r) => r.timings.duration < 200,
    });
  }
}

function search() {
  timed(http.get(`${BASE_URL}/api/v1/search/products?q=${pick(JOURNEY.searchTerms)}`, { headers: headers() }), {
    'search status 200': (r) => r.status === 200,
    'search < 300ms': (r) => r.timings.duration < 300,
  });
}

function shop(token, productIds) {
  const cart = http.get(`${BASE_URL}/api/v1/cart`, { headers: headers(token) });
  check(cart, { 'cart status 200': (r) => r.status === 200 });
  if (Math.random() < JOURNEY.addToCartShare) {
    const item = { product_id: pick(productIds), quantity: Math.floor(Math.random() * 3) + 1 };
    const added = http.post(`${BASE_URL}/api/v1/cart/items`, JSON.stringify(item), { headers: headers(token) });
    check(added, { 'add to cart status 200': (r) => r.status === 200 });
  }
  if (Math.random() < JOURNEY.orderShare) {
    const order = { address_id: 1, payment_method: 'cod' };
    const placed = http.post(`${BASE_URL}/api/v1/orders`, JSON.stringify(order), { headers: headers(token) });
    if (placed.status === 200 || placed.status === 201) {
      ordersCreated.add(1);
    }
    check(placed, { 'order created': (r) => r.status === 200 || r.status === 201 });
  }
}

// The seed picks product ids 1..100; Odoo numbers the seeded products after the ones its modules
// made, so the journey picks among the first 100 the catalogue lists (the seeding Job's).
export function setup() {
  if (!BASE_URL) {
    throw new Error('set BASE_URL to the API to test, e.g. https://staging.smartdairy.com');
  }
  const list = http.get(`${BASE_URL}/api/v2/products?page=1&limit=100`, { headers: headers() });
  const productIds = list.status === 200 ? (list.json('products') || []).map((p) => p.id) : [];
  if (productIds.length === 0) {
    throw new Error(`the catalogue is empty (status ${list.status}): has the seeding Job run?`);
  }
  return { productIds };
}

export default function (data) {
  const token = logIn();
  group('Product Browsing', browse);
  group('Search', search);
  if (token) {
    group('Authenticated Operations', () => shop(token, data.productIds));
  }
  const pause = JOURNEY.thinkTimeSeconds;
  sleep(Math.random() * (pause.max - pause.min) + pause.min);
}
