// Sign-in page: posts JSON to /ui/login (a cross-site <form> cannot), then
// goes to the page that sent the visitor here.
'use strict';

function nextPage() {
  const next = new URLSearchParams(location.search).get('next') || '/';
  // Only paths on this site: never "//elsewhere" or "https://...".
  return next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

async function signIn(body, errorBox, button) {
  errorBox.hidden = true;
  button.disabled = true;
  try {
    const r = await fetch('/ui/login', {
      method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
    if (r.ok) { location.assign(nextPage()); return; }
    let message = 'sign-in failed (' + r.status + ')';
    try { message = (await r.json()).error.message; } catch (e) { /* keep the status */ }
    errorBox.textContent = message;
    errorBox.hidden = false;
  } catch (e) {
    errorBox.textContent = 'the tracker did not answer: ' + e.message;
    errorBox.hidden = false;
  } finally {
    button.disabled = false;
  }
}

document.getElementById('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  signIn({name: document.getElementById('login-name').value,
          password: document.getElementById('login-password').value},
         document.getElementById('login-error'), document.getElementById('login-submit'));
});
document.getElementById('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  signIn({token: document.getElementById('login-token').value},
         document.getElementById('token-error'), document.getElementById('token-submit'));
});
