import Foundation
import Logging
import Mustache
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A request to the console as the handler hands it over: the head, the
/// whole body (bounded by ``ConsoleForm/maxBytes``) and where it came from.
struct ConsoleRequest: Sendable {
    var head: HTTPRequestHead
    var body: [UInt8]
    /// The peer's address as text, e.g. `192.0.2.7`.
    var clientAddress: String
    /// The listener the request arrived on, whose authentication methods apply.
    var listener: HostAndPort?
    var eventLoop: any EventLoop
}

/// The admin console at `/admin`: login, dashboard, keys, users, allowlists
/// and usage, for admin-scope keys and Basic users with the admin right.
///
/// ``ConsoleRoute`` and ``ConsoleGate`` decide what a request is and may do;
/// this class carries it out against the access policy in force
/// (``AccessPolicyStore``), the files it reads (``ConsoleFileWriter``, then a
/// reload), the usage store and the metrics, and renders the page
/// (``ConsolePages``). Every change is written to the audit log
/// (`console.change`, docs/LOGGING.md); no page ever holds a stored hash, and
/// a new key's text is shown once, in the answer to the form that made it.
final class AdminConsole: Sendable {
    let store: AccessPolicyStore
    let sessions: ConsoleSessions
    private let metrics: ProxyMetrics
    private let balancer: UpstreamBalancer
    private let logger: Logger
    private let threadPool: NIOThreadPool
    private let pages: ConsolePages
    /// One change at a time: two forms posted at once must not both read the old file.
    private let changeLock = NIOLock()

    init(
        configuration: ConsoleConfiguration, store: AccessPolicyStore, metrics: ProxyMetrics, balancer: UpstreamBalancer,
        logger: Logger, threadPool: NIOThreadPool = .singleton
    ) {
        self.store = store
        self.sessions = ConsoleSessions(lifetime: configuration.sessionLifetime)
        self.metrics = metrics
        self.balancer = balancer
        self.logger = logger
        self.threadPool = threadPool
        self.pages = ConsolePages()
    }

    /// The answer to one console request.
    func respond(to request: ConsoleRequest) async -> ConsoleResponse {
        let state = self.store.current
        let configuration = state.policy.configuration
        let client = IPAddress(request.clientAddress).map {
            ClientAddressResolver.client(peer: $0, headers: request.head.headers, trustedProxies: configuration.trustedProxies)
        }
        let audit = AuthenticationAudit(logger: self.logger, client: client, head: request.head)
        if let client, !state.policy.allowlist.permits(client) {
            audit.failed(method: "none", reason: "address_not_allowed")
            return self.message("This address may not use the console.", status: .forbidden)
        }
        let target = request.head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let route = ConsoleRoute(method: request.head.method.rawValue, path: RequestPath(target: request.head.uri).normalized ?? "")
        let query = target.count > 1 ? ConsoleForm(body: Array(target[1].utf8)) : ConsoleForm()

        let sessionID = ConsoleCookies.value(ConsoleCookies.session, in: request.head.headers)
        var session = self.sessions.session(id: sessionID)
        if let live = session, !Self.isAdmin(live.identity, in: state) {
            // The key was revoked or lost its scope, or the user was removed: the session ends with it.
            self.sessions.close(id: sessionID)
            session = nil
        }
        var form: ConsoleForm?
        if request.head.method == .POST,
            request.head.headers["content-type"].first?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true
        {
            form = ConsoleForm(body: request.body)
        }
        let loginToken = ConsoleCookies.value(ConsoleCookies.login, in: request.head.headers)
        let methods = request.listener.map(configuration.methods(for:)) ?? configuration.methods

        switch ConsoleGate.decide(route: route, session: session, form: form, loginToken: loginToken) {
        case .refuse(let status, let message):
            if status == 403 {
                self.logger.warning("console.refused", metadata: [
                    "client.address": "\(client.map { "\($0)" } ?? "-")", "console.reason": "\(message)",
                    "http.path": "\(LogField.path(of: request.head.uri, limit: 200))",
                ])
            }
            return self.message(message, status: HTTPResponseStatus(statusCode: status))
        case .toLogin:
            return .redirect(to: "\(ConsoleRoute.root)/login")
        case .loginPage:
            return self.loginPage(methods: methods, error: nil, status: .ok)
        case .login(let form):
            return await self.login(form, request: request, client: client, state: state, methods: methods, audit: audit)
        case .page(let route, let identity, let csrfToken):
            let context = ConsolePages.Context(identity: identity, csrfToken: csrfToken)
            return .html(await self.page(route, context: context, query: query ?? ConsoleForm(), state: state))
        case .change(let route, let identity, let form, let csrfToken):
            let context = ConsolePages.Context(identity: identity, csrfToken: csrfToken)
            return await self.change(route, form: form, context: context, sessionID: sessionID, client: client)
        }
    }

    /// Whether `identity` may use the console under the policy in force.
    static func isAdmin(_ identity: ConsoleIdentity, in state: AccessPolicyStore.State, now: Date = Date()) -> Bool {
        switch identity {
        case .key(let name):
            state.policy.keys.values.contains { $0.name == name && $0.scope == .admin && !$0.isExpired(at: now) }
        case .user(let name):
            state.policy.consoleAdmins.contains(name) && state.policy.basic?.file.entry(for: name) != nil
        }
    }

    /// Every identity that may use the console under the policy in force.
    static func admins(in state: AccessPolicyStore.State, now: Date = Date()) -> Set<ConsoleIdentity> {
        let keys = state.policy.keys.values.map { ConsoleIdentity.key($0.name) }
        let users = state.policy.consoleAdmins.map(ConsoleIdentity.user)
        return Set(keys + users).filter { Self.isAdmin($0, in: state, now: now) }
    }

    // MARK: Login

    private func loginPage(methods: AccessConfiguration.Methods, error: String?, status: HTTPResponseStatus) -> ConsoleResponse {
        let token = SecureRandom.token(bytes: 32)
        let page = self.pages.render(
            "login",
            ConsolePages.Context(identity: nil, csrfToken: nil, error: error).values(title: "Log in", extra: [
                "loginToken": token, "acceptsKey": methods.acceptsKey, "acceptsBasic": methods.acceptsBasic,
            ]))
        // The login form's CSRF token is its own cookie's value (double submit): another site can
        // neither read the cookie nor set it (SameSite=Strict, HttpOnly), so it cannot post a login.
        return .html(page, status: status, cookies: [ConsoleCookies.set(ConsoleCookies.login, token, maxAge: 3600)])
    }

    /// Checks a login form's credentials under the same lockout as the API's Basic and key authentication.
    private func login(
        _ form: ConsoleForm, request: ConsoleRequest, client: IPAddress?, state: AccessPolicyStore.State,
        methods: AccessConfiguration.Methods, audit baseAudit: AuthenticationAudit
    ) async -> ConsoleResponse {
        var audit = baseAudit
        let configuration = state.policy.configuration
        let failureKey = FailureCountingKey(client ?? IPAddress(ipv4: 0), ipv6PrefixLength: configuration.lockoutIPv6PrefixLength)
        let wrong = "Wrong credentials, or not an admin."
        if let wait = state.failures.lockedOut(failureKey) {
            audit.failed(method: "any", reason: "locked_out")
            let seconds = max(1, wait.nanoseconds / 1_000_000_000)
            return self.loginPage(methods: methods, error: "Too many failed logins: try again in \(seconds) s.", status: .tooManyRequests)
        }
        if let key = form["key"], !key.isEmpty, methods.acceptsKey {
            guard case .valid(let stored) = state.verifyKey(key, failureKey: failureKey, audit: &audit) else {
                return self.loginPage(methods: methods, error: wrong, status: .unauthorized)
            }
            guard stored.scope == .admin else {
                audit.failed(method: "key", reason: "insufficient_scope")
                return self.loginPage(methods: methods, error: wrong, status: .forbidden)
            }
            return self.loggedIn(.key(stored.name), client: client)
        }
        guard let user = form["user"], !user.isEmpty, let password = form["password"], methods.acceptsBasic,
            let basic = state.policy.basic
        else {
            audit.failed(method: "none", reason: "missing_credentials")
            return self.loginPage(methods: methods, error: "Give an API key, or a user and a password.", status: .unauthorized)
        }
        audit.user = user
        let userAudit = audit
        let verification = state.verifyPassword(
            user: user, password: Array(password.utf8), with: basic, failureKey: failureKey, on: request.eventLoop,
            audit: userAudit
        ) { verified in
            if !verified {
                // Same reason and answer for an unknown user and a wrong password, as for the API.
                userAudit.failed(method: "basic", reason: "invalid_credentials")
            }
            return verified
        }
        let verified: Bool
        switch verification {
        case .done(let outcome):
            verified = outcome
        case .pending(let future):
            verified = (try? await future.get()) ?? false
        case .tooManyInFlight:
            return self.loginPage(methods: methods, error: "Too many logins at once: try again.", status: .tooManyRequests)
        case .queueFull:
            return self.loginPage(methods: methods, error: "Too many logins at once: try again.", status: .serviceUnavailable)
        }
        guard verified else { return self.loginPage(methods: methods, error: wrong, status: .unauthorized) }
        guard state.policy.consoleAdmins.contains(user) else {
            audit.failed(method: "basic", reason: "insufficient_scope")
            return self.loginPage(methods: methods, error: wrong, status: .forbidden)
        }
        return self.loggedIn(.user(user), client: client)
    }

    private func loggedIn(_ identity: ConsoleIdentity, client: IPAddress?) -> ConsoleResponse {
        let (id, _) = self.sessions.open(for: identity)
        self.logger.notice("console.login", metadata: self.auditMetadata(identity, client: client))
        return .redirect(to: ConsoleRoute.root, cookies: [
            ConsoleCookies.set(ConsoleCookies.session, id, maxAge: self.sessions.lifetime.components.seconds),
            ConsoleCookies.set(ConsoleCookies.login, "", maxAge: 0),
        ])
    }

    // MARK: Changes

    private func change(
        _ route: ConsoleRoute, form: ConsoleForm, context: ConsolePages.Context, sessionID: String?, client: IPAddress?
    ) async -> ConsoleResponse {
        guard let identity = context.identity else { return self.message("Not logged in.", status: .forbidden) }
        let change: ConsoleChange
        do {
            change = try ConsoleChange(route: route, form: form)
        } catch {
            return await self.afterChange(route, context: context, notice: nil, error: error.description, status: .badRequest)
        }
        var metadata = self.auditMetadata(identity, client: client)
        metadata["console.action"] = "\(change.action)"
        if let target = change.target { metadata["console.target"] = "\(LogField.escaped(target, limit: 80))" }
        if change == .logout {
            self.sessions.close(id: sessionID)
            self.logger.info("console.logout", metadata: metadata)
            return .redirect(to: "\(ConsoleRoute.root)/login", cookies: [ConsoleCookies.set(ConsoleCookies.session, "", maxAge: 0)])
        }
        let configuration = self.store.configuration
        let admins = Self.admins(in: self.store.current)
        if let problem = change.refusal(client: client, configuration: configuration, admins: admins) {
            metadata["error"] = "\(LogField.escaped(problem.description, limit: 300))"
            self.logger.warning("console.change_failed", metadata: metadata)
            return await self.afterChange(route, context: context, notice: nil, error: problem.description, status: .badRequest)
        }
        let writer = ConsoleFileWriter(
            keysPath: configuration.keysPath, htpasswdPath: configuration.htpasswdPath, userLimitsPath: configuration.userLimitsPath,
            allowlistPath: configuration.allowlistPath)
        let lock = self.changeLock
        let outcome: Result<String?, ConsoleChange.Problem>
        do {
            outcome = try await self.threadPool.runIfActive {
                lock.withLock { Result { () throws(ConsoleChange.Problem) in try writer.apply(change) } }
            }
        } catch {
            outcome = .failure(ConsoleChange.Problem(description: "The proxy is shutting down."))
        }
        switch outcome {
        case .failure(let problem):
            metadata["error"] = "\(LogField.escaped(problem.description, limit: 300))"
            self.logger.warning("console.change_failed", metadata: metadata)
            return await self.afterChange(route, context: context, notice: nil, error: problem.description, status: .badRequest)
        case .success(let secret):
            self.logger.notice("console.change", metadata: metadata)
            // Files written: load them now rather than wait for the watcher, so the page shows the new state.
            let reloaded = self.store.reload()
            var notice = Self.notice(for: change, in: self.store.current)
            if !reloaded { notice += " The reload failed, so the policy in force is the previous one: see the proxy's log." }
            if !Self.isAdmin(identity, in: self.store.current) {
                // The change took the console from this session's own key or user (another admin remains:
                // ``ConsoleChange/refusal(client:configuration:admins:)``): the session ends now, not at its next request.
                self.sessions.close(id: sessionID)
                return .html(
                    self.pages.render("message", ["title": "\(notice) Your console session has ended with it."]),
                    cookies: [ConsoleCookies.set(ConsoleCookies.session, "", maxAge: 0)])
            }
            var newKey: [String: String]?
            if case .createKey(let name, _, _, _) = change, let secret { newKey = ["name": name, "secret": secret] }
            return await self.afterChange(route, context: context, notice: notice, error: nil, status: .ok, newKey: newKey)
        }
    }

    /// What the page says of a change made; `state`: the policy after it.
    private static func notice(for change: ConsoleChange, in state: AccessPolicyStore.State) -> String {
        switch change {
        case .createKey(let name, _, _, _): "Key '\(name)' created."
        case .revokeKey(let name): "Key '\(name)' revoked: it is refused from now on."
        case .setKeyLimits(let name, let limits):
            "The limits of key '\(name)' are now: \(limits.fields.isEmpty ? "none" : limits.fields.joined(separator: " "))."
        case .addUser(let name, _): "User '\(name)' added."
        case .changePassword(let name, _): "The password of '\(name)' was changed."
        case .removeUser(let name): "User '\(name)' removed."
        case .setKeyScope(let name, let scope): "Key '\(name)' now has the \(scope.rawValue) scope."
        case .setKeyExpiry(let name, nil): "Key '\(name)' no longer expires."
        case .setKeyExpiry(let name, .some):
            "Key '\(name)' now expires at \(state.policy.keys.values.first { $0.name == name }?.expires.map(APIKeyFile.text) ?? "?")."
        case .setUserAdmin(let name, let admin):
            admin ? "User '\(name)' has the admin right: they can log in to this console." : "User '\(name)' no longer has the admin right."
        case .setUserLimits(let name, let limits):
            "The limits of user '\(name)' are now: \(limits.fields.isEmpty ? "none" : limits.fields.joined(separator: " "))."
        case .setAllowlists(let allow, let deny):
            "The allowlist file now allows \(allow.count) and denies \(deny.count) ranges; they apply to new connections and requests at once."
        case .reload: "Reloaded."
        case .logout: ""
        }
    }

    /// The page a change's form is on, shown again with the outcome.
    private func afterChange(
        _ route: ConsoleRoute, context: ConsolePages.Context, notice: String?, error: String?, status: HTTPResponseStatus,
        newKey: [String: String]? = nil
    ) async -> ConsoleResponse {
        let page: ConsoleRoute =
            switch route {
            case .createKey, .revokeKey, .setKeyLimits, .setKeyScope, .setKeyExpiry: .keys
            case .addUser, .changePassword, .removeUser, .setUserAdmin, .setUserLimits: .users
            default: .allowlists
            }
        var context = context
        (context.notice, context.error, context.newKey) = (notice, error, newKey)
        return .html(await self.page(page, context: context, query: ConsoleForm(), state: self.store.current), status: status)
    }

    private func auditMetadata(_ identity: ConsoleIdentity, client: IPAddress?) -> Logger.Metadata {
        [
            "auth.identity": "\(LogField.escaped(identity.logName, limit: 80))",
            "client.address": "\(client.map { "\($0)" } ?? "-")",
        ]
    }

    // MARK: Pages

    private func page(_ route: ConsoleRoute, context: ConsolePages.Context, query: ConsoleForm, state: AccessPolicyStore.State) async -> String {
        switch route {
        case .keys:
            return self.pages.keys(
                context: context, keys: Array(state.policy.keys.values), configurationKey: state.policy.configurationKeyDigest)
        case .users:
            return self.pages.users(
                context: context, users: state.policy.basic?.file.users ?? [], admins: state.policy.consoleAdmins,
                limits: state.policy.limits, configuration: state.policy.configuration)
        case .allowlists:
            return self.pages.allowlists(context: context, configuration: state.policy.configuration, file: state.policy.allowlistFile)
        case .usage:
            return self.pages.usage(context: context, rows: await self.usageRows(), selected: query.text("identity"))
        default:
            let upstreams = self.balancer.upstreams.indices.map {
                (address: "\(self.balancer.upstreams[$0])", up: self.balancer.isUp($0), inFlight: self.balancer.outstanding($0))
            }
            return self.pages.dashboard(
                context: context, upstreams: upstreams, statuses: self.metrics.requestsByStatus,
                openConnections: self.metrics.openConnections, rows: await self.usageRows(),
                keyCount: state.policy.keys.count, userCount: state.policy.basic?.file.users.count ?? 0)
        }
    }

    /// The usage rows of the last 24 hours: those written to the store and those still waiting to be written.
    private func usageRows(now: Date = Date()) async -> [UsageRow] {
        guard let accounting = self.store.usageAccounting else { return [] }
        let from = UsageRow.hour(of: now) - 23 * 3600
        var rows = (try? await accounting.store.rows(UsageQuery(from: from))) ?? []
        rows += accounting.unwritten.rows.values.filter { $0.hour >= from }
        return rows
    }

    private func message(_ text: String, status: HTTPResponseStatus) -> ConsoleResponse {
        .html(self.pages.render("message", ["title": text]), status: status)
    }
}
