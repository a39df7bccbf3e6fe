/// The console's pages as Mustache templates, kept in the source so the
/// binary needs no resource files. `{{name}}` is HTML-escaped (mustache's
/// default: `< > & " '`), so anything a client or an admin chose (key and
/// user names, models, messages) is shown as text; `{{{name}}}` (unescaped)
/// is used nowhere. No script: forms post, charts are inline SVG.
enum ConsoleTemplates {
    static let all: [String: String] = [
        "header": header, "footer": footer, "login": login, "dashboard": dashboard, "keys": keys, "users": users,
        "allowlists": allowlists, "usage": usage, "message": message, "limitFields": limitFields,
    ]

    static let header = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>lmgate · {{title}}</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}
        header{background:#1f2937;color:#fff;padding:10px 20px;display:flex;gap:18px;align-items:center}
        header a{color:#cbd5e1;text-decoration:none}header a.on{color:#fff;font-weight:600}
        header form{margin-left:auto}main{padding:16px 20px;max-width:1100px}
        table{border-collapse:collapse;background:#fff;margin:8px 0 16px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}
        th{background:#eef0f3}.notice{background:#e6f4ea;border:1px solid #9bd3ae;padding:8px;margin:8px 0}
        .error{background:#fdecea;border:1px solid #f5a9a3;padding:8px;margin:8px 0}
        .secret{font-family:monospace;font-size:15px;background:#fff;border:1px dashed #888;padding:6px;display:inline-block}
        fieldset{background:#fff;border:1px solid #ddd;margin:8px 0 16px}label{display:inline-block;margin:4px 10px 4px 0}
        .up{color:#137333;font-weight:600}.down{color:#b3261e;font-weight:600}.cards{display:flex;gap:12px;flex-wrap:wrap}
        .card{background:#fff;border:1px solid #ddd;padding:10px 14px;min-width:140px}.card b{font-size:22px;display:block}
        </style></head><body>
        {{#csrf}}<header><strong>lmgate console</strong>
        <a href="/admin"{{#onDashboard}} class="on"{{/onDashboard}}>Dashboard</a>
        <a href="/admin/keys"{{#onKeys}} class="on"{{/onKeys}}>Keys</a>
        <a href="/admin/users"{{#onUsers}} class="on"{{/onUsers}}>Users</a>
        <a href="/admin/allowlists"{{#onAllowlists}} class="on"{{/onAllowlists}}>Allowlists</a>
        <a href="/admin/usage"{{#onUsage}} class="on"{{/onUsage}}>Usage</a>
        <form method="post" action="/admin/logout"><span>{{identity}}</span>
        <input type="hidden" name="csrf" value="{{csrf}}"> <button id="logout">Log out</button></form></header>{{/csrf}}
        <main>
        {{#notice}}<div class="notice" id="notice">{{notice}}</div>{{/notice}}
        {{#error}}<div class="error" id="error">{{error}}</div>{{/error}}
        """

    static let footer = """
        </main></body></html>
        """

    static let message = """
        {{>header}}<h1>{{title}}</h1><p><a href="/admin">Back to the console</a></p>{{>footer}}
        """

    static let login = """
        {{>header}}<h1>Log in to the lmgate console</h1>
        <p>With an admin-scope API key, or a user name and password of a user with the admin right.</p>
        <form method="post" action="/admin/login"><fieldset>
        <input type="hidden" name="csrf" value="{{loginToken}}">
        {{#acceptsKey}}<p><label>API key <input type="password" name="key" id="key" size="50" autocomplete="off"></label></p>{{/acceptsKey}}
        {{#acceptsBasic}}<p><label>User <input name="user" id="user" autocomplete="username"></label>
        <label>Password <input type="password" name="password" id="password" autocomplete="current-password"></label></p>{{/acceptsBasic}}
        <button id="login">Log in</button></fieldset></form>{{>footer}}
        """

    static let dashboard = """
        {{>header}}<h1>Dashboard</h1>
        <div class="cards">
        <div class="card">requests in flight upstream<b id="in-flight">{{inFlight}}</b></div>
        <div class="card">tokens/s (this hour)<b id="tokens-per-second">{{tokensPerSecond}}</b></div>
        <div class="card">tokens this hour<b>{{tokensThisHour}}</b></div>
        <div class="card">open connections<b>{{openConnections}}</b></div>
        <div class="card">keys / users<b>{{keyCount}} / {{userCount}}</b></div>
        </div>
        <h2>Upstreams</h2>
        <table id="upstreams"><tr><th>upstream</th><th>health</th><th>in flight</th></tr>
        {{#upstreams}}<tr><td>{{address}}</td><td>{{#up}}<span class="up">up</span>{{/up}}{{^up}}<span class="down">down</span>{{/up}}</td><td>{{inFlight}}</td></tr>{{/upstreams}}
        </table>
        <h2>Models served (last 24 hours)</h2>
        <table id="models"><tr><th>model</th><th>requests</th><th>tokens</th></tr>
        {{#models}}<tr><td>{{model}}</td><td>{{requests}}</td><td>{{tokens}}</td></tr>{{/models}}
        {{^models}}<tr><td colspan="3">none yet</td></tr>{{/models}}
        </table>
        <h2>Requests by status (since start)</h2>
        <table id="statuses"><tr><th>status</th><th>requests</th></tr>
        {{#statuses}}<tr><td>{{status}}</td><td>{{count}}</td></tr>{{/statuses}}
        {{^statuses}}<tr><td colspan="2">none yet</td></tr>{{/statuses}}
        </table>{{>footer}}
        """

    static let keys = """
        {{>header}}<h1>API keys</h1>
        {{#newKey}}<p>The new key <b>{{name}}</b>. It is shown only now: copy it and store it safely.</p>
        <p><span class="secret" id="new-key">{{secret}}</span></p>{{/newKey}}
        <table id="keys"><tr><th>name</th><th>scope</th><th>prefix</th><th>created</th><th>expires</th><th>limits</th><th></th></tr>
        {{#keys}}<tr><td>{{name}}</td><td>{{scope}}</td><td>{{prefix}}…</td><td>{{created}}</td><td>{{expires}}</td>
        {{#inConfiguration}}<td>{{limits}}</td><td class="configured">set by auth.api_key</td></tr>{{/inConfiguration}}
        {{^inConfiguration}}<td>{{limits}}<details><summary>change</summary>
        <form method="post" action="/admin/keys/scope" class="key-scope" data-key="{{name}}"><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="name" value="{{name}}">
        <label>Scope <select name="scope"><option{{^scopeIsAdmin}} selected{{/scopeIsAdmin}}>inference</option>
        <option{{#scopeIsAdmin}} selected{{/scopeIsAdmin}}>admin</option></select></label>
        <button>Save scope</button></form>
        <form method="post" action="/admin/keys/expiry" class="key-expiry" data-key="{{name}}"><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="name" value="{{name}}">
        <label>Expires <input name="expires" size="22" value="{{expiresValue}}" placeholder="30d, 12h or 2027-01-31; empty: never"></label>
        <button>Save expiry</button></form>
        <form method="post" action="/admin/keys/limits" class="key-limits" data-key="{{name}}"><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="name" value="{{name}}">
        {{>limitFields}}
        <button>Save limits</button></form></details></td>
        <td><form method="post" action="/admin/keys/revoke"><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="name" value="{{name}}"><button class="revoke" data-key="{{name}}">Revoke</button></form></td></tr>{{/inConfiguration}}{{/keys}}
        {{^keys}}<tr><td colspan="7">no keys</td></tr>{{/keys}}
        </table>
        <h2>Create a key</h2>
        <form method="post" action="/admin/keys" id="create-key"><fieldset>
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label>Name <input name="name" id="key-name" required></label>
        <label>Scope <select name="scope"><option>inference</option><option>admin</option></select></label>
        <label>Expires <input name="expires" placeholder="30d, 12h or 2027-01-31; empty: never"></label><br>
        <label>Models <input name="models" id="key-models" placeholder="qwen3-*,local-model; empty: any"></label>
        <label>Max concurrent <input name="max_concurrent" size="5"></label>
        <label>Priority <select name="priority"><option value="">normal</option><option>high</option><option>low</option></select></label><br>
        <label>Tokens per minute <input name="tokens_per_minute" size="8"></label>
        <label>per day <input name="tokens_per_day" size="10"></label>
        <label>per month <input name="tokens_per_month" size="12"></label><br>
        <button id="create">Create</button></fieldset></form>{{>footer}}
        """

    static let users = """
        {{>header}}<h1>Users (HTTP Basic)</h1>
        {{^htpasswd}}<p>No htpasswd file is configured (auth.htpasswd).</p>{{/htpasswd}}
        {{#htpasswd}}<p>File: {{htpasswd}}. Passwords are stored as bcrypt hashes.</p>{{/htpasswd}}
        <table id="users"><tr><th>user</th><th>console</th><th>limits</th><th>change password</th><th></th></tr>
        {{#users}}<tr><td>{{name}}</td><td>{{#admin}}admin{{/admin}}
        {{#limitsFile}}<form method="post" action="/admin/users/admin" class="user-admin" data-user="{{name}}">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="user" value="{{name}}">
        {{#admin}}<input type="hidden" name="admin" value="no"><button>Take the admin right</button>{{/admin}}
        {{^admin}}<input type="hidden" name="admin" value="yes"><button>Give the admin right</button>{{/admin}}</form>{{/limitsFile}}</td>
        <td>{{limits}}{{#limitsFile}}<details><summary>change</summary>
        <form method="post" action="/admin/users/limits" class="user-limits" data-user="{{name}}"><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="user" value="{{name}}">
        {{>limitFields}}
        <button>Save limits</button></form></details>{{/limitsFile}}</td>
        <td><form method="post" action="/admin/users/password"><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="user" value="{{name}}"><input type="password" name="password" autocomplete="new-password">
        <button>Set</button></form></td>
        <td><form method="post" action="/admin/users/remove"><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="user" value="{{name}}"><button>Remove</button></form></td></tr>{{/users}}
        {{^users}}<tr><td colspan="5">no users</td></tr>{{/users}}
        </table>
        {{#htpasswd}}<h2>Add a user</h2>
        <form method="post" action="/admin/users"><fieldset><input type="hidden" name="csrf" value="{{csrf}}">
        <label>User <input name="user" id="new-user" required></label>
        <label>Password <input type="password" name="password" id="new-password" autocomplete="new-password" required></label>
        <button id="add-user">Add</button></fieldset></form>
        {{/htpasswd}}
        {{#limitsFile}}<p>The admin right and the limits are kept in <code>{{limitsFile}}</code> (auth.user_limits); a change applies at once,
        and a user who loses the right is logged out of the console.</p>{{/limitsFile}}
        {{^limitsFile}}<p>To give users the admin right or limits here, name a users' limits file with <code>auth.user_limits</code>
        in the configuration.</p>{{/limitsFile}}
        {{>footer}}
        """

    /// The limits fields of a key's or a user's limits form, filled with the
    /// values in force (`limit_models`, …): an empty field is no such limit.
    static let limitFields = """
        <label>Models <input name="models" value="{{limit_models}}"></label>
        <label>Max concurrent <input name="max_concurrent" size="5" value="{{limit_max_concurrent}}"></label>
        <label>Priority <input name="priority" size="6" value="{{limit_priority}}" placeholder="high, low"></label>
        <label>Tokens per minute <input name="tokens_per_minute" size="8" value="{{limit_tokens_per_minute}}"></label>
        <label>per day <input name="tokens_per_day" size="10" value="{{limit_tokens_per_day}}"></label>
        <label>per month <input name="tokens_per_month" size="12" value="{{limit_tokens_per_month}}"></label>
        """

    static let allowlists = """
        {{>header}}<h1>Allowlists</h1>
        <p>From the configuration file's <code>access.allow</code>, <code>access.deny</code> and
        <code>access.trusted_proxies</code>. Empty allow: every address may connect.</p>
        <table id="allowlists"><tr><th>list</th><th>ranges</th></tr>
        <tr><td>allow</td><td>{{allow}}</td></tr><tr><td>deny</td><td>{{deny}}</td></tr>
        <tr><td>trusted proxies</td><td>{{trusted}}</td></tr></table>
        {{#file}}<h2>Allowlist file</h2>
        <p>The ranges of <code>{{path}}</code> (<code>access.allowlist_file</code>), added to the lists above:
        one address or CIDR range a line. A change applies at once; one that would refuse your own address is refused.</p>
        <form method="post" action="/admin/allowlists" id="allowlist-file"><input type="hidden" name="csrf" value="{{csrf}}">
        <label>allow <textarea name="allow" rows="4" cols="40">{{allow}}</textarea></label>
        <label>deny <textarea name="deny" rows="4" cols="40">{{deny}}</textarea></label>
        <button id="save-allowlists">Save the allowlist file</button></form>{{/file}}
        {{^file}}<p>To change ranges here, name a file for them with <code>access.allowlist_file</code> in the configuration.</p>{{/file}}
        <form method="post" action="/admin/allowlists/reload"><input type="hidden" name="csrf" value="{{csrf}}">
        <button id="reload">Reload the configuration and the files</button></form>
        <p>A reload that fails (a bad file or setting) keeps the policy in force; the reason is in the proxy's log.</p>
        {{>footer}}
        """

    static let usage = """
        {{>header}}<h1>Usage</h1>
        <table id="usage"><tr><th>identity</th><th>requests (24 h)</th><th>prompt tokens</th><th>completion tokens</th><th>errors</th></tr>
        {{#identities}}<tr><td><a href="/admin/usage?identity={{query}}">{{identity}}</a></td><td>{{requests}}</td>
        <td>{{promptTokens}}</td><td>{{completionTokens}}</td><td>{{errors}}</td></tr>{{/identities}}
        {{^identities}}<tr><td colspan="5">no usage in the last 24 hours</td></tr>{{/identities}}
        </table>
        {{#chart}}<h2>{{identity}}: tokens per hour, last 24 hours</h2>
        <svg id="chart" width="{{width}}" height="{{height}}" viewBox="0 0 {{width}} {{height}}" role="img" aria-label="tokens per hour">
        <rect width="{{width}}" height="{{height}}" fill="#fff" stroke="#ddd"/>
        {{#bars}}<rect x="{{x}}" y="{{y}}" width="{{barWidth}}" height="{{barHeight}}" fill="#2563eb"><title>{{label}}: {{tokens}} tokens, {{requests}} requests</title></rect>{{/bars}}
        <text x="4" y="14" font-size="11">max {{maximum}} tokens/hour</text>
        <text x="4" y="{{axisY}}" font-size="11">24 h ago</text><text x="{{nowX}}" y="{{axisY}}" font-size="11">now</text>
        </svg>{{/chart}}
        {{>footer}}
        """
}
