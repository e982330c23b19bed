/** The status page's HTML shell; ./app.ts renders into it. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>syncproof status</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2330; background: #f5f6f8; }
  body { margin: 0 auto; max-width: 1200px; padding: 16px 24px 48px; }
  header { display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap; }
  h1 { font-size: 22px; margin: 8px 0; }
  h2 { font-size: 18px; margin: 0 0 8px; display: flex; gap: 12px; align-items: center; }
  h3 { font-size: 14px; margin: 16px 0 6px; color: #4a5365; text-transform: uppercase; letter-spacing: .04em; }
  .muted { color: #6b7385; font-size: 13px; }
  .badge { display: inline-block; padding: 2px 10px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; }
  .healthy, .PASSED, .ok { background: #1f8a4c; }
  .warning, .PASSED_WITH_WARNINGS, .PASSED_PARTIAL, .warn, .unknown { background: #b7791f; }
  .failing, .FAILED, .fail { background: #c53030; }
  .RUNNING { background: #2b6cb0; }
  .NO_WORK { background: #718096; }
  section.dataset { background: #fff; border-radius: 8px; padding: 16px 20px; margin: 16px 0; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  .facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 8px 24px; font-size: 14px; }
  .facts > div > span { display: block; color: #6b7385; font-size: 12px; }
  .facts b { font-weight: 600; }
  .charts { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
  .charts div { height: 180px; position: relative; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e6e8ee; white-space: nowrap; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  td.error { white-space: normal; color: #9b2c2c; min-width: 240px; }
  .scroll { overflow-x: auto; }
  ul.reasons { margin: 4px 0 0; padding-left: 20px; font-size: 14px; }
  #banner { display: none; background: #fed7d7; color: #822727; padding: 8px 12px; border-radius: 6px; }
  a { color: #2b6cb0; }
</style>
</head>
<body>
<header><h1>syncproof</h1><span id="overall" class="badge"></span><span id="updated" class="muted"></span><span id="source" class="muted"></span></header>
<div id="banner"></div>
<main id="datasets"><p class="muted">reading the status…</p></main>
<script src="/app.js"></script>
</body>
</html>
`;
