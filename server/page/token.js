// vizstream pages (index.html, watch.html): the token of the page's address,
// #token=T (never sent to a server or a proxy's log) or ?token=T, read once
// and taken out of the address bar (history, bookmarks, a screenshot of the
// page); a reload asks for it again. docs/server.md, "Control".
'use strict';

window.vizstreamTakeToken = function () {
  const params = new URLSearchParams(location.search);
  const hash = new URLSearchParams(location.hash.slice(1));
  if (!hash.has('token') && !params.has('token')) return null;
  const t = hash.get('token') || params.get('token');
  const url = new URL(location.href);
  url.searchParams.delete('token');
  hash.delete('token');
  url.hash = hash.toString();
  history.replaceState(history.state, '', url.href);
  return t || null;
};
