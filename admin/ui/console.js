// dkim-relay operator console: signs in with the admin token, lists domains with their DNS status and
// readiness, and runs key actions through the /v1 API. Plain JavaScript, no build step; the server's
// Content-Security-Policy allows only this file, so there is no inline script or style anywhere.
'use strict';

const TOKEN_KEY = 'dkim-relay.token';
const ZONE_KEY = 'dkim-relay.delegation-zone';
const REFRESH_MS = 3000;

// Which actions each token role may run (issue 12's scoped tokens).
const ROLE_ACTIONS = {
  metrics: [], // scrapes /metrics only: the console shows it nothing
  read: [],
  rotate: ['rotate', 'activate', 'retire', 'revoke', 'remove-key'],
  admin: ['add', 'remove-domain', 'rotate', 'activate', 'retire', 'revoke', 'remove-key'],
};

const DNS_WORDS = {
  published: 'Connected',
  pending: 'Pending validation',
  mismatch: 'Error',
  error: 'Error',
};

let identity = null; // {name, role, domains}
let refreshTimer = null;
let lastRendered = '';
let refreshing = false;

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + (sessionStorage.getItem(TOKEN_KEY) || '') };
  const init = { method, headers, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, 'the admin API is not reachable (' + error.message + ')');
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (error) {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, (data && data.message) || 'HTTP ' + response.status);
  }
  return data;
}

const domainPath = (domain) => '/v1/domains/' + encodeURIComponent(domain);
const keyPath = (domain, selector) => domainPath(domain) + '/keys/' + encodeURIComponent(selector);
const idPart = (text) => text.replace(/[^A-Za-z0-9-]/g, '_');
const may = (action) => identity !== null && (ROLE_ACTIONS[identity.role] || []).includes(action);

function showAlert(message) {
  const alert = $('alert');
  alert.textContent = message;
  alert.hidden = false;
}

function clearAlert() {
  $('alert').hidden = true;
  $('alert').textContent = '';
}

function showStatus(message) {
  $('status').textContent = message;
}

function formatTime(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  return new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC');
}

function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = value;
    else if (name === 'onclick') node.addEventListener('click', value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// --- sign-in --------------------------------------------------------------------------------------

async function loadIdentity() {
  try {
    const token = await api('GET', '/v1/token');
    return { name: token.name, role: token.role, domains: token.domains || [] };
  } catch (error) {
    // An admin API without scoped tokens has one token, and it is an admin token.
    if (error.status === 404) return { name: 'admin token', role: 'admin', domains: ['*'] };
    throw error;
  }
}

async function signIn(token) {
  clearAlert();
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    await api('GET', '/v1/domains');
    identity = await loadIdentity();
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    identity = null;
    if (error.status === 401) {
      showAlert('Sign-in failed: the admin API did not accept this token. Check the token and try again.');
    } else {
      showAlert('Sign-in failed: ' + error.message);
    }
    $('token').focus();
    return;
  }
  enterConsole();
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  identity = null;
  clearTimeout(refreshTimer);
  refreshTimer = null;
  lastRendered = '';
  $('domains').replaceChildren();
  $('console').hidden = true;
  $('session').hidden = true;
  $('sign-in').hidden = false;
  $('token').value = '';
  if (message) showAlert(message);
  else clearAlert();
  $('token').focus();
}

function enterConsole() {
  $('sign-in').hidden = true;
  $('console').hidden = false;
  $('session').hidden = false;
  const scope = identity.domains.includes('*') ? 'all domains' : identity.domains.join(', ');
  $('who').textContent = 'Signed in: ' + identity.name + ' (role ' + identity.role + ', ' + scope + ')';
  $('add-form').hidden = !may('add');
  $('domains-title').focus();
  scheduleRefresh(0);
}

// --- refresh --------------------------------------------------------------------------------------

function scheduleRefresh(delay) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, delay);
}

async function refresh() {
  if (identity === null || refreshing) return;
  refreshing = true;
  try {
    const list = await api('GET', '/v1/domains');
    const details = await Promise.all(
      list.domains.map(async (domain) => {
        const [dns, readiness] = await Promise.all([
          api('GET', domainPath(domain.domain) + '/dns').catch((error) => ({ error: error.message })),
          api('GET', domainPath(domain.domain) + '/readiness').catch((error) => ({ error: error.message })),
        ]);
        return { domain, dns, readiness };
      }),
    );
    render(details);
    $('refreshed').textContent = 'Updated ' + new Date().toLocaleTimeString() + '; refreshes every ' +
      REFRESH_MS / 1000 + ' s.';
  } catch (error) {
    if (error.status === 401) {
      refreshing = false;
      signOut('The admin API no longer accepts this token: sign in again.');
      return;
    }
    $('refreshed').textContent = 'Refresh failed: ' + error.message;
  } finally {
    refreshing = false;
  }
  if (identity !== null) scheduleRefresh(REFRESH_MS);
}

// --- rendering ------------------------------------------------------------------------------------

function render(details) {
  const zone = ($('delegation-zone').value || '').trim().replace(/\.$/, '');
  const signature = JSON.stringify([details, zone, identity.role]);
  if (signature === lastRendered) return;
  lastRendered = signature;
  // Rebuilding replaces the focused control: find it again by id so keyboard users keep their place.
  const focused = document.activeElement && document.activeElement.id;
  const container = $('domains');
  if (details.length === 0) {
    container.replaceChildren(element('p', { text: 'No domains yet.' + (may('add') ? ' Add one above.' : '') }));
  } else {
    container.replaceChildren(...details.map((entry) => renderDomain(entry, zone)));
  }
  if (focused && $(focused) && document.activeElement !== $(focused)) $(focused).focus();
}

function dnsRows(dns) {
  const rows = {};
  for (const row of (dns && dns.selectors) || []) rows[row.selector] = row;
  return rows;
}

function renderDomain({ domain, dns, readiness }, zone) {
  const name = domain.domain;
  const key = idPart(name);
  const section = element('section', { class: 'domain', 'aria-labelledby': 'domain-' + key, 'data-domain': name });
  section.append(element('h3', { id: 'domain-' + key, text: name }));
  if (domain.rotation) section.append(renderRotationPolicy(domain.rotation));

  const actions = element('div', { class: 'actions' });
  if (may('rotate')) {
    actions.append(
      element('button', { type: 'button', id: 'rotate-now-' + key, 'data-action': 'rotate-now',
        text: 'Rotate now', onclick: () => rotate(name, 'now') }),
      element('button', { type: 'button', id: 'rotate-dns-' + key, 'data-action': 'rotate-after-dns',
        text: 'Rotate after DNS', onclick: () => rotate(name, 'after_dns') }),
    );
  }
  if (may('remove-domain')) {
    actions.append(element('button', { type: 'button', id: 'remove-domain-' + key, class: 'danger',
      'data-action': 'remove-domain', text: 'Remove domain', onclick: () => removeDomain(name) }));
  }
  if (actions.childElementCount > 0) section.append(actions);

  if (dns && dns.error) section.append(element('p', { class: 'error-text', text: 'DNS check failed: ' + dns.error }));
  if (domain.delegated) section.append(renderDelegation(domain, key));
  const rows = dnsRows(dns);
  section.append(renderSelectorTable(domain, rows, key));
  section.append(renderReadiness(readiness, key));
  // A delegated domain's records are published by the relays: the owner needs only the CNAMEs.
  for (const selector of domain.delegated ? [] : domain.selectors) {
    if (selector.state !== 'revoked') section.append(renderRecords(name, selector, zone));
  }
  return section;
}

// The domain's effective rotation policy (PUT /v1/domains/{d}/rotation overrides it); its own
// values are marked.
function renderRotationPolicy(rotation) {
  const days = (seconds) => (seconds % 86400 === 0 ? seconds / 86400 + ' d' : seconds + ' s');
  const own = (field) => (rotation.override && rotation.override[field] !== null ? ' (this domain)' : '');
  const effective = rotation.effective || {};
  let text;
  if (!effective.enabled) text = 'Scheduled rotation is off';
  else if (rotation.opt_out) text = 'Opted out of scheduled rotation';
  else {
    text = 'Rotates every ' + days(effective.interval) + own('interval') + '; replaced keys revoked after ' +
      days(effective.retire_after) + own('retire_after') + ', deleted after ' + days(effective.delete_after) +
      own('delete_after');
    if (rotation.next_step_at) text += '; next step ' + formatTime(rotation.next_step_at);
  }
  return element('p', { class: 'detail', 'data-role': 'rotation-policy', text });
}

function renderSelectorTable(domain, rows, key) {
  const table = element('table', { class: 'selectors' });
  table.append(element('caption', { text: 'Keys of ' + domain.domain }));
  const head = element('tr');
  for (const title of ['Selector', 'State', 'Algorithm', 'Created', 'Activated', 'Schedule', 'DNS status', 'Actions']) {
    head.append(element('th', { scope: 'col', text: title }));
  }
  table.append(element('thead', {}, head));
  const body = element('tbody');
  for (const selector of domain.selectors) {
    const row = rows[selector.selector];
    const status = row ? row.status : null;
    const word = status ? DNS_WORDS[status] || 'Error' : 'Checking…';
    const cell = element('td', { class: 'dns-status', 'data-selector': selector.selector,
      'data-status': status ? idPart(word.toLowerCase()) : 'checking' });
    cell.append(element('span', { class: 'badge badge-' + (status || 'checking'), text: word }));
    if (row && word === 'Error') cell.append(element('span', { class: 'detail', text: row.detail }));
    if (row && word === 'Pending validation') cell.append(element('span', { class: 'detail', text: row.detail }));
    if (selector.activate_after_dns && selector.state === 'staged') {
      cell.append(element('span', { class: 'detail', text: 'activates when DNS serves it' }));
      const wait = selector.dns_status;
      if (wait && wait.checked_at) {
        cell.append(element('span', { class: 'detail', 'data-role': 'scheduler-dns',
          text: 'scheduler: ' + wait.status + (wait.reason ? ' (' + wait.reason + ')' : '') }));
      }
    }
    const alg = selector.algorithm === 'ed25519-sha256' ? 'Ed25519' : 'RSA ' + selector.bits;
    body.append(element('tr', { 'data-selector': selector.selector },
      element('th', { scope: 'row', text: selector.selector }),
      element('td', { class: 'state state-' + selector.state, text: selector.refused ? selector.state + ' (refused)' : selector.state }),
      element('td', { text: alg }),
      element('td', { text: formatTime(selector.created_at) }),
      element('td', { text: formatTime(selector.activated_at) }),
      renderSchedule(selector),
      cell,
      element('td', { class: 'key-actions' }, ...keyButtons(domain.domain, selector, key))));
  }
  table.append(body);
  return table;
}

// Age, the next scheduled step and when ([rotation]), and Postmark's "safe to remove from DNS".
const STEP_WORDS = { activate_when_dns_serves_it: 'activates when DNS serves it', rotate: 'rotation',
  revoke: 'revocation', delete: 'deletion' };
function renderSchedule(selector) {
  const cell = element('td', { class: 'schedule', 'data-selector': selector.selector });
  if (typeof selector.age_seconds === 'number') {
    cell.append(element('span', { text: 'age ' + Math.floor(selector.age_seconds / 86400) + ' d' }));
  }
  if (selector.next_step) {
    const when = selector.next_step_at ? ' at ' + formatTime(selector.next_step_at) : '';
    cell.append(element('span', { class: 'detail', 'data-role': 'next-step',
      text: 'next: ' + (STEP_WORDS[selector.next_step] || selector.next_step) + when }));
  }
  if (selector.dns_timeout) cell.append(element('span', { class: 'badge badge-error', text: 'DNS overdue' }));
  if (selector.safe_to_remove_from_dns) {
    cell.append(element('span', { class: 'badge badge-published', 'data-role': 'safe-to-remove',
      text: 'safe to remove from DNS' }));
  }
  return cell;
}

function keyButtons(domain, selector, domainKey) {
  const id = (action) => action + '-' + domainKey + '-' + idPart(selector.selector);
  const label = (verb) => verb + ' selector ' + selector.selector + ' of ' + domain;
  const buttons = [];
  const state = selector.state;
  if (may('activate') && (state === 'staged' || state === 'retiring')) {
    buttons.push(element('button', { type: 'button', id: id('activate'), 'data-action': 'activate',
      'aria-label': label('Activate'), text: 'Activate', onclick: () => keyAction(domain, selector.selector, 'activate') }));
  }
  if (may('retire') && state === 'active') {
    buttons.push(element('button', { type: 'button', id: id('retire'), 'data-action': 'retire',
      'aria-label': label('Retire'), text: 'Retire', onclick: () => keyAction(domain, selector.selector, 'retire') }));
  }
  if (may('revoke') && state !== 'revoked') {
    buttons.push(element('button', { type: 'button', id: id('revoke'), class: 'danger', 'data-action': 'revoke',
      'aria-label': label('Revoke'), text: 'Revoke', onclick: () => keyAction(domain, selector.selector, 'revoke') }));
  }
  if (may('remove-key') && state !== 'active') {
    buttons.push(element('button', { type: 'button', id: id('remove-key'), class: 'danger', 'data-action': 'remove-key',
      'aria-label': label('Remove'), text: 'Remove', onclick: () => keyAction(domain, selector.selector, 'remove') }));
  }
  return buttons;
}

function readinessLine(title, status, text, ok) {
  return element('li', { class: ok ? 'ok' : 'not-ok', 'data-check': title.toLowerCase() },
    element('strong', { text: title + ': ' }), element('span', { text: text }),
    status ? element('span', { class: 'detail', text: status }) : null);
}

function renderReadiness(readiness, key) {
  const box = element('div', { class: 'readiness', id: 'readiness-' + key });
  box.append(element('h4', { text: 'Readiness' }));
  if (!readiness || readiness.error) {
    box.append(element('p', { class: 'error-text', text: 'Readiness check failed: ' + (readiness ? readiness.error : '') }));
    return box;
  }
  const { dkim, dmarc, spf } = readiness;
  const list = element('ul');
  const dkimWord = dkim.status === 'no_active_key' ? 'no active key' : DNS_WORDS[dkim.status] || 'Error';
  list.append(readinessLine('DKIM', dkim.detail,
    (dkim.selector ? 'selector ' + dkim.selector + ': ' : '') + dkimWord, dkim.status === 'published'));
  let dmarcText;
  if (dmarc.status === 'present') {
    dmarcText = 'p=' + dmarc.policy + ', adkim=' + dmarc.adkim + ' (' + dmarc.alignment + '), ' +
      (dmarc.aligned ? 'aligned' : 'NOT aligned');
  } else {
    dmarcText = dmarc.status;
  }
  list.append(readinessLine('DMARC', dmarc.status === 'present' ? dmarc.alignment_detail : dmarc.detail, dmarcText,
    dmarc.status === 'present' && dmarc.aligned));
  list.append(readinessLine('SPF', spf.record || spf.detail, spf.status + ' (informational)', spf.status === 'present'));
  box.append(element('p', { class: readiness.ready ? 'ready' : 'not-ready', 'data-ready': String(readiness.ready),
    text: readiness.ready ? 'Ready: DKIM passes and aligns under DMARC.' : 'Not ready yet.' }));
  box.append(list);
  return box;
}

function copyField(id, labelText, value, copyLabel) {
  const wrapper = element('div', { class: 'field' });
  wrapper.append(element('label', { for: id, text: labelText }));
  const row = element('div', { class: 'copy-row' });
  const area = element('textarea', { id, readonly: true, rows: value.length > 120 ? 3 : 1, spellcheck: 'false' });
  area.value = value;
  row.append(area, element('button', { type: 'button', id: id + '-copy', class: 'copy', 'aria-label': copyLabel,
    text: 'Copy', onclick: () => copy(area, copyLabel) }));
  wrapper.append(row);
  return wrapper;
}

// Delegated selectors: the status in the product's words, the CNAMEs the owner publishes once, each
// slot's key and what DNS showed, and the relays' last publishing problem.
function renderDelegation(domain, key) {
  const delegation = domain.delegation || {};
  const box = element('div', { class: 'delegation', id: 'delegation-' + key });
  box.append(element('h4', { text: 'Delegated selectors' }));
  const status = delegation.status || 'Not checked';
  box.append(element('p', { id: 'delegation-status-' + key, 'data-status': status, role: 'status',
    text: 'Status: ' + status + (delegation.detail ? ' — ' + delegation.detail : '') }));
  (delegation.cnames || []).forEach((line, index) => {
    box.append(copyField('delegation-cname-' + key + '-' + index, 'CNAME the domain owner publishes once', line,
      'Copy CNAME ' + line));
  });
  const table = element('table', { class: 'slots' });
  table.append(element('caption', { text: 'Slots of ' + domain.domain }));
  const head = element('tr');
  for (const title of ['Slot', 'Key', 'State', 'Status', 'Found']) head.append(element('th', { scope: 'col', text: title }));
  table.append(head);
  for (const slot of delegation.slots || []) {
    const row = element('tr', { 'data-slot': slot.slot });
    for (const text of [slot.slot, slot.key || '—', slot.state || '—', slot.status || '—', slot.found || '']) {
      row.append(element('td', { text }));
    }
    table.append(row);
  }
  box.append(table);
  if (delegation.publish_error) {
    box.append(element('p', { class: 'error-text', id: 'delegation-error-' + key,
      text: 'Publishing failed (' + delegation.publish_error.rcode + '): ' + delegation.publish_error.error }));
  }
  return box;
}

function renderRecords(domain, selector, zone) {
  const key = idPart(domain) + '-' + idPart(selector.selector);
  const box = element('div', { class: 'records', 'data-selector': selector.selector });
  box.append(element('h4', { text: 'DNS records for selector ' + selector.selector }));
  const name = selector.dns.name;
  if (selector.refused) {
    // The keystore does not vouch for this row's record: show why, never a value to publish.
    box.append(element('p', { class: 'error-text', 'data-refused': 'true', text: 'Key refused by the relay: ' + selector.refused }));
    return box;
  }
  box.append(copyField('txt-name-' + key, 'TXT record name', name, 'Copy TXT name ' + name));
  box.append(copyField('txt-value-' + key, 'TXT record value', selector.dns.value, 'Copy TXT value for ' + name));
  if (zone) {
    // ESP-style delegation: the customer points the name at the operator's zone once; the operator
    // publishes (and rotates) the TXT record there.
    const target = selector.selector + '.' + domain + '.' + zone;
    box.append(element('p', { class: 'hint', text: 'Delegation: the domain owner publishes the CNAME; you publish the TXT value above at its target.' }));
    box.append(copyField('cname-' + key, 'CNAME record (' + name + ' → target)', name + '. 3600 IN CNAME ' + target + '.',
      'Copy CNAME record for ' + name));
    box.append(copyField('cname-target-' + key, 'TXT record name in the delegation zone', target,
      'Copy delegated TXT name ' + target));
  }
  return box;
}

async function copy(area, what) {
  try {
    await navigator.clipboard.writeText(area.value);
  } catch (error) {
    // Some browsers refuse the clipboard API without a user gesture or permission: fall back.
    area.select();
    document.execCommand('copy');
  }
  showStatus('Copied: ' + what.replace(/^Copy /, ''));
}

// --- actions --------------------------------------------------------------------------------------

function confirmAction(title, text, okLabel) {
  const dialog = $('confirm');
  const opener = document.activeElement && document.activeElement.id;
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      if (opener && $(opener)) $(opener).focus();
      resolve(dialog.returnValue === 'ok');
    }, { once: true });
    dialog.showModal();
    $('confirm-cancel').focus();
  });
}

async function run(title, text, okLabel, method, path, body, done) {
  if (!(await confirmAction(title, text, okLabel))) {
    showStatus(title + ': cancelled.');
    return;
  }
  clearAlert();
  try {
    const result = await api(method, path, body);
    showStatus(done(result));
  } catch (error) {
    showAlert(title + ' failed: ' + error.message);
  }
  lastRendered = '';
  scheduleRefresh(0);
}

function rotate(domain, activate) {
  const text = activate === 'now'
    ? 'A new key is created for ' + domain + ' and signs from now on; the current key retires. ' +
      'Receivers cannot verify the new signatures until its DNS record is published.'
    : 'A new key is staged for ' + domain + '. The relay activates it by itself once DNS serves its record; ' +
      'the current key keeps signing until then.';
  return run(activate === 'now' ? 'Rotate ' + domain + ' now' : 'Rotate ' + domain + ' after DNS', text,
    activate === 'now' ? 'Rotate now' : 'Stage new key', 'POST', domainPath(domain) + '/rotate', { activate },
    (result) => 'New selector ' + result.key.selector + ' for ' + domain + ' is ' + result.key.state + '.');
}

function keyAction(domain, selector, action) {
  const texts = {
    activate: ['Activate ' + selector, 'Selector ' + selector + ' of ' + domain + ' signs from now on; ' +
      'the active key of the same algorithm retires. Make sure DNS serves its record.', 'Activate'],
    retire: ['Retire ' + selector, 'Selector ' + selector + ' of ' + domain + ' stops signing. Its record stays ' +
      'in DNS so that mail already sent still verifies.', 'Retire'],
    revoke: ['Revoke ' + selector, 'Selector ' + selector + ' of ' + domain + ' is revoked: publish its record ' +
      'with an empty p= so that receivers reject signatures made with it, including mail already sent.', 'Revoke'],
    remove: ['Remove ' + selector, 'The key of selector ' + selector + ' of ' + domain + ' is deleted for good.',
      'Remove key'],
  };
  const [title, text, ok] = texts[action];
  if (action === 'remove') {
    return run(title, text, ok, 'DELETE', keyPath(domain, selector), undefined,
      () => 'Removed selector ' + selector + ' of ' + domain + '.');
  }
  return run(title, text, ok, 'POST', keyPath(domain, selector) + '/' + action, undefined,
    () => 'Selector ' + selector + ' of ' + domain + ': ' + action + ' done.');
}

function removeDomain(domain) {
  return run('Remove ' + domain, domain + ' and all its keys are deleted; the relay stops signing its mail.',
    'Remove domain', 'DELETE', domainPath(domain), undefined, () => 'Removed ' + domain + '.');
}

function addDomain(event) {
  event.preventDefault();
  const domain = $('add-domain').value.trim();
  const selector = $('add-selector').value.trim();
  const algorithm = $('add-algorithm').value;
  const delegated = $('add-delegated').checked;
  const body = { domain, algorithm };
  if (selector) body.selector = selector;
  if (delegated) body.delegated = true;
  const kind = algorithm === 'ed25519-sha256' ? 'Ed25519' : 'RSA 2048';
  return run('Add ' + domain, delegated
    ? domain + ' is created as a delegated domain with a new ' + kind + ' key: its owner publishes the CNAMEs ' +
      'shown below once; the key signs once DNS serves it (until then its mail follows relay.unsigned).'
    : domain + ' is created with a new ' + kind + ' key' +
    (selector ? ' (selector ' + selector + ')' : '') + ', active at once: publish its DNS record shown below.',
  'Add domain', 'POST', '/v1/domains', body, (result) => {
    $('add-domain').value = '';
    $('add-selector').value = '';
    $('add-delegated').checked = false;
    return 'Added ' + result.domain + ' with selector ' + result.key.selector + '.';
  });
}

// --- start ----------------------------------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  $('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    signIn($('token').value.trim());
  });
  $('sign-out').addEventListener('click', () => signOut());
  $('add-form').addEventListener('submit', addDomain);
  const zone = $('delegation-zone');
  zone.value = localStorage.getItem(ZONE_KEY) || '';
  zone.addEventListener('change', () => {
    localStorage.setItem(ZONE_KEY, zone.value.trim());
    lastRendered = '';
    scheduleRefresh(0);
  });
  $('domains-title').setAttribute('tabindex', '-1');
  if (sessionStorage.getItem(TOKEN_KEY)) {
    signIn(sessionStorage.getItem(TOKEN_KEY));
  } else {
    $('token').focus();
  }
});
