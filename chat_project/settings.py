"""Settings: every knob comes from an environment variable with a default that needs
no external service (the README lists them all). Production sets at least
DJANGO_SECRET_KEY, DJANGO_DEBUG=0, MONGODB_URI, REDIS_URL and DJANGO_ALLOWED_HOSTS.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from chat_project import settings_guards
from chat_project.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
# Public, so only for development: with DEBUG off it is refused below, as is any key that
# `check --deploy` calls weak (chat_project/settings_guards.py).
DEV_SECRET_KEY = "django-insecure-dev-key-set-DJANGO_SECRET_KEY-in-production"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
# Tests only: an MD5 hasher first (below), so that signing in is cheap in the suite.
FAST_PASSWORD_HASHER = env_bool("FAST_PASSWORD_HASHER", False)
if not DEBUG:
    # Issues 18 and 28: with DJANGO_DEBUG=0 the app ran on the public key, then on
    # `short`, 60 spaces or the public key plus a space (sessions and signed values
    # forgeable), and FAST_PASSWORD_HASHER re-allowed the public key and MD5 hashing.
    if SECRET_KEY == DEV_SECRET_KEY:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set and DJANGO_DEBUG is off: refusing to run on the "
            "public development key. Set DJANGO_SECRET_KEY (50+ random characters), or "
            "DJANGO_DEBUG=1 for development."
        )
    _weakness = settings_guards.secret_key_weakness(SECRET_KEY, development_key=DEV_SECRET_KEY)
    if _weakness:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is weak ({_weakness}) and DJANGO_DEBUG is off: refusing to "
            "start. Use 50+ random characters: "
            'python -c "import secrets; print(secrets.token_urlsafe(50))"'
        )
    if FAST_PASSWORD_HASHER and not settings_guards.in_test_run():
        raise ImproperlyConfigured(
            "FAST_PASSWORD_HASHER is for the test suite only (it hashes passwords with MD5) "
            "and DJANGO_DEBUG is off: refusing to start. Unset it."
        )

# --- Security behind a TLS-terminating proxy (README "Production settings") --------------
# `manage.py check --deploy` is clean with the README's production values; the defaults
# suit plain-HTTP development.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# The load balancer's plain-HTTP health probe is answered, not redirected.
SECURE_REDIRECT_EXEMPT = [r"^api/health$"]
# The header the proxy sets to the client's scheme, e.g. X-Forwarded-Proto; only set it
# when a proxy that overwrites that header is in front (else a client could claim https).
_PROXY_SSL_HEADER = env_str("SECURE_PROXY_SSL_HEADER", "")
if _PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"),
        "https",
    )
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
NUM_PROXIES = env_int("NUM_PROXIES", 0)
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / ".data")))

INSTALLED_APPS = [
    "daphne",
    # Before django.contrib.auth: its ``changepassword`` command is accounts' (an earlier
    # app's command of the same name wins), which also closes the user's sockets.
    "accounts",
    "chat_project.apps.MongoAdminConfig",
    "chat_project.apps.MongoAuthConfig",
    "chat_project.apps.MongoContentTypesConfig",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_mongodb_backend",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "channels",
    "chat_project.apps.ChatProjectConfig",
    "chat",
    "agents",
    # Webhooks (issue 30): reads chat and agents, imported by none of them.
    "integrations",
    "adminstats",
    "compat",
]

MIDDLEWARE = [
    # Outermost: /api/ answers errors as JSON whatever DEBUG is (issue 18).
    "chat_project.middleware.ApiJsonErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The admin's and the API docs' Content-Security-Policy (chat_project/csp.py).
    "chat_project.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Cross-origin requests to the compatibility edge only (CORS_URLS_REGEX below).
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chat_project.urls"
ASGI_APPLICATION = "chat_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Storage -------------------------------------------------------------------------------
# The embedded SecantusDB URI carries retryWrites=false (chat_project/dev/servers.py);
# a production replica set keeps pymongo's retryable writes.
MONGODB_URI = env_str("MONGODB_URI", "mongodb://127.0.0.1:27017/?retryWrites=false")
# The bound on every database call: server selection, connecting, and each reply
# (socketTimeoutMS), so a stalled database is an error within this, never a hang.
MONGODB_TIMEOUT_MS = env_int("MONGODB_TIMEOUT_MS", 5000)
# An acknowledgement means durable: writes wait for a majority of the replica set with
# the journal flushed (j). The embedded server honours both
# (chat_project/patches/secantus_bulk_write.py).
MONGODB_WRITE_CONCERN = {
    "w": (lambda w: int(w) if w.isdigit() else w)(env_str("MONGODB_WRITE_CONCERN", "majority")),
    "j": env_bool("MONGODB_JOURNAL", True),
    "wtimeout": MONGODB_TIMEOUT_MS,
}
# How long a caller waits for the timeline writer's round (chat/writer.py) before it
# answers service_unavailable.
MONGODB_WRITE_TIMEOUT_SECONDS = MONGODB_TIMEOUT_MS / 1000
# GET /api/health answers within this, naming the check that did not (chat_project/health.py).
HEALTH_TIMEOUT_SECONDS = float(env_str("HEALTH_TIMEOUT_SECONDS", "1.5"))
DATABASES = {
    "default": {
        "ENGINE": "django_mongodb_backend",
        "HOST": MONGODB_URI,
        "NAME": env_str("MONGODB_NAME", "support_chat"),
        "OPTIONS": {
            "serverSelectionTimeoutMS": MONGODB_TIMEOUT_MS,
            "connectTimeoutMS": MONGODB_TIMEOUT_MS,
            "socketTimeoutMS": MONGODB_TIMEOUT_MS,
            "w": MONGODB_WRITE_CONCERN["w"],
            "journal": MONGODB_WRITE_CONCERN["j"],
            "wTimeoutMS": MONGODB_TIMEOUT_MS,
        },
    },
}
DEFAULT_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"
MIGRATION_MODULES = {
    "admin": "chat_project.mongo_migrations.admin",
    "auth": "chat_project.mongo_migrations.auth",
    "contenttypes": "chat_project.mongo_migrations.contenttypes",
}

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_TIMEOUT_SECONDS = float(env_str("REDIS_TIMEOUT_SECONDS", "2"))
# redis-py 8's asyncio pool holds 100 connections by default and raises when it is
# full; under load that closed most sockets (docs/benchmarks.md).
REDIS_MAX_CONNECTIONS = env_int("REDIS_MAX_CONNECTIONS", 10000)

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "chat"),
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT_SECONDS,
            "SOCKET_TIMEOUT": REDIS_TIMEOUT_SECONDS,
            "CONNECTION_POOL_KWARGS": {"max_connections": 200},
        },
    },
}

# The channel layer's Redis servers: several shard the channels and groups between them
# (channels_redis hashes each name to one server); every process must list the same
# servers in the same order (docs/deploy.md). Cache, sessions and presence stay on REDIS_URL.
CHANNEL_LAYER_HOSTS = env_list("CHANNEL_LAYER_HOSTS", REDIS_URL)
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": env_str(
            "CHANNEL_LAYER_BACKEND", "chat_project.patches.channel_layer.PubSubChannelLayer"
        ),
        "CONFIG": {
            "hosts": [
                {"address": url, "max_connections": REDIS_MAX_CONNECTIONS}
                for url in CHANNEL_LAYER_HOSTS
            ],
            "prefix": env_str("CHANNEL_LAYER_PREFIX", "asgi"),
        },
    },
}

# --- Auth and sessions ---------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if FAST_PASSWORD_HASHER:  # tests only
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sessions live in MongoDB (durable) behind the Redis cache (fast).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "chat_project.api.csrf_failure"

# The login throttle (accounts/login_throttle.py), each limit per window: failures of one
# account from every address, of one account from one address, and how many distinct
# accounts may fail from one address (password spraying; an office behind one NAT
# counts each colleague once).
LOGIN_MAX_FAILURES_PER_ACCOUNT = env_int("LOGIN_MAX_FAILURES_PER_ACCOUNT", 10)
LOGIN_MAX_FAILURES_PER_ADDRESS_ACCOUNT = env_int("LOGIN_MAX_FAILURES_PER_ADDRESS_ACCOUNT", 5)
LOGIN_MAX_ACCOUNTS_PER_ADDRESS = env_int("LOGIN_MAX_ACCOUNTS_PER_ADDRESS", 50)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900)
# Each user's request budget, one token bucket for REST and every socket of theirs
# (chat_project/budget.py): this many tokens at most, refilled at this rate; a send costs 1.
USER_BUDGET_PER_SECOND = float(env_str("USER_BUDGET_PER_SECOND", "10"))
USER_BUDGET_BURST = float(env_str("USER_BUDGET_BURST", "20"))
# Self-registrations from one client address: this many at once, then one per
# REGISTER_WINDOW_SECONDS / REGISTER_MAX_PER_ADDRESS (a token bucket).
REGISTER_MAX_PER_ADDRESS = env_int("REGISTER_MAX_PER_ADDRESS", 20)
REGISTER_WINDOW_SECONDS = env_int("REGISTER_WINDOW_SECONDS", 3600)

# --- REST ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["chat_project.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's JSON parser with a nesting bound (issue 18: deep JSON was a 500).
    "DEFAULT_PARSER_CLASSES": ["chat_project.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "chat_project.api.exception_handler",
    # Each user's request budget, shared with the sockets (chat_project/throttling.py).
    "DEFAULT_THROTTLE_CLASSES": ["chat_project.throttling.UserBudgetThrottle"],
    # drf-spectacular's, with every operation's error responses (issue 18).
    "DEFAULT_SCHEMA_CLASS": "chat_project.schema.ContractAutoSchema",
    "NUM_PROXIES": NUM_PROXIES,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Support chat API",
    "DESCRIPTION": "REST half of the support-chat contract; the WebSocket half is in the README.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema states what the views enforce (issue 18): a PATCH body is the full
    # serializer (the one PATCH requires its text), a non-blank string has minLength 1,
    # and an id in the path is 24 hex digits (the ``oid`` converter).
    "COMPONENT_SPLIT_PATCH": False,
    "ENFORCE_NON_BLANK_FIELDS": True,
    "PATH_CONVERTER_OVERRIDES": {
        "oid": {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"},
        "deliveryid": {"type": "string", "pattern": "^[0-9a-fA-F]{24}(-[0-9a-fA-F]{24})?$"},
    },
    # The docs page's assets ship in a PyPI package: nothing is fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Three choice sets share the field name "status"; each gets its own component name
    # (`manage.py check --deploy` runs the schema generator and reports collisions).
    "ENUM_NAME_OVERRIDES": {
        "UserStatusEnum": ["online", "away", "busy", "offline"],  # accounts.models.Status
        "RoomStatusEnum": ["queued", "active", "closed"],  # chat.models.RoomStatus
        "MessageStatusEnum": ["sent", "delivered", "read"],
        "SlaFlagEnum": ["nearing", "breached"],  # chat.api.serializers.SlaFlagsSerializer
        "WebhookEndpointStatusEnum": ["active", "paused"],  # integrations.models
        "WebhookDeliveryStatusEnum": ["pending", "delivered", "failed"],
    },
}

# --- HTTP under ASGI -------------------------------------------------------------------------
# Threads per process that run HTTP requests (middleware and view in one hop each,
# chat_project/patches/asgi_http.py); a request arriving when all are busy waits its turn.
HTTP_THREADS = env_int("HTTP_THREADS", 8)
# Threads per process on which the WebSocket gateway's service calls run (chat_project/hops.py).
# A send or receipt holds one while its change waits for the timeline writer's round.
WS_DB_THREADS = env_int("WS_DB_THREADS", 32)
# How long a thread holding the GIL keeps it while another waits (CPython: 5 ms). The
# server's threads mostly wait on MongoDB and Redis; each reply then waits for the
# GIL, so a routing drain (5 round trips per assignment) competing with request threads
# lost up to 5 ms per round trip. 1 ms: burst of issue 8 scenario 4, three pairs of runs:
# creates answered in 12.3-15.6 s vs 16.0-19.1 s, assignments 16-21/s vs 13-16/s, same CPU.
GIL_SWITCH_INTERVAL_MS = float(env_str("GIL_SWITCH_INTERVAL_MS", "1"))

# --- WebSocket -----------------------------------------------------------------------------
WS_ALLOWED_ORIGINS = env_list("WS_ALLOWED_ORIGINS", "")  # empty: same hosts as ALLOWED_HOSTS

# --- The compatibility edge (issue 27; README "Coming from the reference backend") ---------
# The reference design's own clients, unchanged: its REST API under /compat/api/ and its
# socket events in Socket.IO namespace /compat. Off unless enabled; the origins its
# frontend is served from may call it cross-origin (and open its sockets), nothing else.
COMPAT_ENABLED = env_bool("COMPAT_ENABLED", False)
COMPAT_ALLOWED_ORIGINS = env_list("COMPAT_ALLOWED_ORIGINS", "")
CORS_ALLOWED_ORIGINS = COMPAT_ALLOWED_ORIGINS if COMPAT_ENABLED else []
CORS_URLS_REGEX = r"^/compat/"
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_HEADERS = ("accept", "content-type", "x-session-id", "x-request-id")
CORS_ALLOW_METHODS = ("DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT")

# --- Static and media ----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
SERVE_STATIC = env_bool("SERVE_STATIC", True)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
# Attachments (and any other default-storage file) in S3-compatible object storage through
# django-storages when S3_BUCKET is set, so that every process on every host sees them;
# credentials come from boto3's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or
# the host's role), never from this file. S3_ENDPOINT_URL for MinIO, Ceph, R2, ...
S3_BUCKET = env_str("S3_BUCKET", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env_str("S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("S3_REGION", "") or None,
            "location": env_str("S3_PREFIX", "attachments"),
            # Private objects: attachments are served through the app, which checks access.
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            "addressing_style": env_str("S3_ADDRESSING_STYLE", "") or None,  # "path": MinIO
        },
    }

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# LOG_FORMAT=json: one JSON object per line, with request and socket ids (chat_project/logs.py).
LOG_FORMAT = env_str("LOG_FORMAT", "text")
LOGGING = logging_config(level=env_str("LOG_LEVEL", "INFO"), fmt=LOG_FORMAT)
# GET /metrics on each process (Prometheus) answers only on METRICS_PORT, a listener of its
# own that the proxy never routes to (issue 28: /%6Detrics through the proxy reached the
# app's port, which decoded it), and only with this bearer token. Either empty or 0: no
# metrics endpoint. `python -m chat_project.serve` opens the port (docs/deploy.md).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_PORT = env_int("METRICS_PORT", 0)

# --- WebSocket gateway ---------------------------------------------------------------------
# Frames above WS_MAX_FRAME_BYTES get ``frame_too_large`` and the socket closes (4413).
# The transport (Autobahn, via daphne) cuts anything above WS_TRANSPORT_MAX_BYTES while it
# arrives, before it is buffered whole: daphne's runserver reads DAPHNE_WEBSOCKET_*; the
# daphne CLI needs --websocket-max-message-size / --websocket-max-frame-size.
WS_MAX_FRAME_BYTES = env_int("WS_MAX_FRAME_BYTES", 64 * 1024)
WS_TRANSPORT_MAX_BYTES = env_int("WS_TRANSPORT_MAX_BYTES", 2 * WS_MAX_FRAME_BYTES)
DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE = WS_TRANSPORT_MAX_BYTES
DAPHNE_WEBSOCKET_MAX_FRAME_SIZE = WS_TRANSPORT_MAX_BYTES
WS_RATE_PER_SECOND = float(env_str("WS_RATE_PER_SECOND", "10"))  # token bucket refill
WS_RATE_BURST = env_int("WS_RATE_BURST", 20)  # token bucket size
WS_RATE_STRIKES = env_int("WS_RATE_STRIKES", 20)  # rate_limited answers in a row, then close
WS_MAX_SOCKETS_PER_USER = env_int("WS_MAX_SOCKETS_PER_USER", 10)
# Handshakes in progress per process; the next is closed 4013 at once
# (chat_project.gateway.handshake)
WS_MAX_PENDING_HANDSHAKES = env_int("WS_MAX_PENDING_HANDSHAKES", 200)
# Handshakes past that wait in line, each for at most WS_HANDSHAKE_WAIT_SECONDS; the line
# is as long as the process answers in that wait, at most WS_MAX_QUEUED_HANDSHAKES.
WS_MAX_QUEUED_HANDSHAKES = env_int("WS_MAX_QUEUED_HANDSHAKES", 5000)
WS_HANDSHAKE_WAIT_SECONDS = float(env_str("WS_HANDSHAKE_WAIT_SECONDS", "10"))
WS_PRESENCE_TTL_SECONDS = float(env_str("WS_PRESENCE_TTL_SECONDS", "30"))
WS_HEARTBEAT_SECONDS = float(env_str("WS_HEARTBEAT_SECONDS", "10"))
WS_PRESENCE_GRACE_SECONDS = float(env_str("WS_PRESENCE_GRACE_SECONDS", "5"))
WS_PRESENCE_SWEEP_SECONDS = float(env_str("WS_PRESENCE_SWEEP_SECONDS", "1"))
WS_TYPING_TTL_SECONDS = float(env_str("WS_TYPING_TTL_SECONDS", "5"))
WS_TYPING_THROTTLE_SECONDS = float(env_str("WS_TYPING_THROTTLE_SECONDS", "2"))
# A typing start waits this long; its stop or a message within it cancels both unseen.
WS_TYPING_HOLD_SECONDS = float(env_str("WS_TYPING_HOLD_SECONDS", "0.25"))
WS_REPLAY_MAX_EVENTS = env_int("WS_REPLAY_MAX_EVENTS", 5000)  # more missed: resync_required
WS_MAX_ROOMS_PER_SOCKET = env_int("WS_MAX_ROOMS_PER_SOCKET", 200)
WS_GAP_REPAIR_SECONDS = float(env_str("WS_GAP_REPAIR_SECONDS", "0.5"))  # then read the gap
# A socket's receipts for a room are written together after this long (0: one by one).
WS_RECEIPT_COALESCE_SECONDS = float(env_str("WS_RECEIPT_COALESCE_SECONDS", "0.2"))
WS_MAX_BACKLOG = env_int("WS_MAX_BACKLOG", 2000)  # events queued for one socket, then close
# Socket.IO at /socket.io/ (chat_project/gateway/socketio.py): Engine.IO's heartbeat, sent
# to the client in the handshake (socket.io's own defaults: 25 s and 20 s).
SOCKETIO_PING_INTERVAL_SECONDS = float(env_str("SOCKETIO_PING_INTERVAL_SECONDS", "25"))
SOCKETIO_PING_TIMEOUT_SECONDS = float(env_str("SOCKETIO_PING_TIMEOUT_SECONDS", "20"))
# SIGTERM drains the process within this (chat_project/drain.py); the orchestrator's grace
# period (compose: stop_grace_period) must be longer.
DRAIN_SECONDS = float(env_str("DRAIN_SECONDS", "10"))
# A socket closed by a drain keeps its presence lease this long (instead of
# WS_PRESENCE_GRACE_SECONDS): the client reconnects to another process meanwhile.
WS_DRAIN_PRESENCE_GRACE_SECONDS = float(env_str("WS_DRAIN_PRESENCE_GRACE_SECONDS", "15"))

# --- Chat ----------------------------------------------------------------------------------
# Read at call time (tests override them); the defaults are stated here only.
CHAT_ONE_OPEN_ROOM_PER_CUSTOMER = env_bool("CHAT_ONE_OPEN_ROOM_PER_CUSTOMER", True)
CHAT_MESSAGE_MAX_CHARS = env_int("CHAT_MESSAGE_MAX_CHARS", 5000)  # after trimming
CHAT_MESSAGE_MAX_ATTACHMENTS = env_int("CHAT_MESSAGE_MAX_ATTACHMENTS", 10)
CHAT_EDIT_WINDOW_SECONDS = env_int("CHAT_EDIT_WINDOW_SECONDS", 900)  # authors; admins always
CHAT_CSAT_WINDOW_SECONDS = env_int("CHAT_CSAT_WINDOW_SECONDS", 7 * 24 * 3600)  # rate after close
CHAT_AUDIT_RETENTION_DAYS = env_int("CHAT_AUDIT_RETENTION_DAYS", 365)  # purge_chat_audit
CHAT_REPLAY_MAX_EVENTS = env_int("CHAT_REPLAY_MAX_EVENTS", 10000)  # further: resync_required
CHAT_HISTORY_CACHE_SECONDS = env_int("CHAT_HISTORY_CACHE_SECONDS", 300)
CHAT_HOLE_SETTLE_SECONDS = float(env_str("CHAT_HOLE_SETTLE_SECONDS", "5"))  # chat/holes.py
CHAT_ATTACHMENT_MAX_BYTES = env_int("CHAT_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
CHAT_ATTACHMENT_TYPES = env_list(
    "CHAT_ATTACHMENT_TYPES",
    "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain",
)
CHAT_ATTACHMENT_STORAGE = env_str("CHAT_ATTACHMENT_STORAGE", "default")  # a STORAGES alias

# --- Routing -------------------------------------------------------------------------------
# Observed service rate for the queue's wait estimate: assignments in this window.
ROUTING_RATE_WINDOW_SECONDS = env_int("ROUTING_RATE_WINDOW_SECONDS", 600)
# An agent whose presence has been gone this long loses their active rooms to the queue.
AGENT_GONE_GRACE_SECONDS = env_int("AGENT_GONE_GRACE_SECONDS", 120)
# How often a gateway process runs the routing safety net (vanished agents, counter
# repair, queue drain); correctness does not depend on it.
ROUTING_HOUSEKEEPING_SECONDS = env_int("ROUTING_HOUSEKEEPING_SECONDS", 10)
# The counter recount (reads every active room) runs at most this often.
ROUTING_RECONCILE_SECONDS = env_int("ROUTING_RECONCILE_SECONDS", 300)
# Teams (issue 15): how often one gateway process (a Redis lock) looks for teams that just
# opened (their queues drain) and rooms due to overflow to a fallback team.
ROUTING_TEAMS_TICK_SECONDS = env_int("ROUTING_TEAMS_TICK_SECONDS", 1)
# What a customer reads when their team is closed and the team has no message of its own.
ROUTING_OFFLINE_MESSAGE = env_str(
    "ROUTING_OFFLINE_MESSAGE",
    "We are closed right now. Your chat is saved and we will answer when we open; "
    "you can also leave your e-mail address and a message.",
)

# Issue 30: ring-no-answer, SLA thresholds (a team's own values override these; 0: off).
# How often one gateway process (a Redis lock) looks for rooms due for either, and for
# offline messages whose e-mail has not gone yet.
ROUTING_TIMERS_TICK_SECONDS = float(env_str("ROUTING_TIMERS_TICK_SECONDS", "2"))
# A room whose agent has sent nothing this long after the assignment goes to another.
RING_NO_ANSWER_SECONDS = env_int("RING_NO_ANSWER_SECONDS", 120)
# Rooms missed in a row before the agent is set away.
RING_MISSES_BEFORE_AWAY = env_int("RING_MISSES_BEFORE_AWAY", 3)
# Targets from the room's creation: the first agent message, and the close (0: none).
SLA_FIRST_RESPONSE_SECONDS = env_int("SLA_FIRST_RESPONSE_SECONDS", 0)
SLA_RESOLUTION_SECONDS = env_int("SLA_RESOLUTION_SECONDS", 0)
# Past this fraction of a target the room is "nearing" it.
SLA_NEARING_FRACTION = float(os.environ.get("SLA_NEARING_FRACTION", "0.8"))
# SLA targets count the team's open hours (its weekly hours and holidays): a chat that
# waits over a closed night or weekend is not late for it. Off: every hour counts.
SLA_BUSINESS_HOURS = env_bool("SLA_BUSINESS_HOURS", True)
# An unsent offline message is retried once it is this old (the save sends it at once).
OFFLINE_EMAIL_RETRY_SECONDS = env_int("OFFLINE_EMAIL_RETRY_SECONDS", 30)
# A customer may ask for this many transcripts per hour.
TRANSCRIPT_MAX_PER_HOUR = env_int("TRANSCRIPT_MAX_PER_HOUR", 5)

# --- E-mail (issue 30: transcripts, offline messages) ---------------------------------------
# The console backend prints e-mails (development); production sets SMTP.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Every network call is bounded: an SMTP server that hangs cannot hold up the sender.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "support@localhost")

# --- Stats ---------------------------------------------------------------------------------
# GET /api/admin/chat-stats, the admin dashboard and `manage.py chat_stats` (docs/stats.md).
# Seconds a computed result is served from the cache.
STATS_CACHE_SECONDS = env_int("STATS_CACHE_SECONDS", 5)
# The longest window a caller may ask for.
STATS_MAX_WINDOW_DAYS = env_int("STATS_MAX_WINDOW_DAYS", 92)
# Rooms and events of a window are found by the time in their ObjectId, widened by this
# much (ids are made by the inserting process, a moment after the time field is set).
STATS_ID_SLACK_SECONDS = env_int("STATS_ID_SLACK_SECONDS", 300)

# --- Webhooks (issue 30, integrations/) ----------------------------------------------------
# Run the webhook worker inside each gateway process (a periodic hook on its event loop,
# the work on a thread of its own); off: run `manage.py run_webhooks` instead.
WEBHOOKS_IN_GATEWAY = env_bool("WEBHOOKS_IN_GATEWAY", True)
# How often the worker looks for new timeline rows and due deliveries.
WEBHOOK_TICK_SECONDS = float(env_str("WEBHOOK_TICK_SECONDS", "1"))
# Bound on every HTTP call to an endpoint (connect and read).
WEBHOOK_TIMEOUT_SECONDS = float(env_str("WEBHOOK_TIMEOUT_SECONDS", "5"))
# Retries: exponential backoff with full jitter, random(0, min(cap, base * 2**attempt)),
# for at most WEBHOOK_RETRY_HOURS after the delivery was queued; then it is failed.
WEBHOOK_BACKOFF_BASE_SECONDS = float(env_str("WEBHOOK_BACKOFF_BASE_SECONDS", "2"))
WEBHOOK_BACKOFF_CAP_SECONDS = float(env_str("WEBHOOK_BACKOFF_CAP_SECONDS", "600"))
WEBHOOK_RETRY_HOURS = float(env_str("WEBHOOK_RETRY_HOURS", "24"))
# An endpoint whose every attempt has failed for this long, or this many times in a
# row, is paused (with the reason) until an admin resumes it.
WEBHOOK_PAUSE_AFTER_SECONDS = env_int("WEBHOOK_PAUSE_AFTER_SECONDS", 6 * 3600)
WEBHOOK_PAUSE_AFTER_FAILURES = env_int("WEBHOOK_PAUSE_AFTER_FAILURES", 100)
# How far back each scan re-reads stored rows: a row may be stored after rows with later
# ids (the writer picks ids before its round), at most about a write timeout later.
WEBHOOK_SCAN_LOOKBACK_SECONDS = float(env_str("WEBHOOK_SCAN_LOOKBACK_SECONDS", "30"))
# A worker's claim on the scan, and a tick's on the retries it sends (a killed worker's
# are taken over after it);
# no attempt starts later than WEBHOOK_LEASE_SECONDS - 2 x WEBHOOK_TIMEOUT_SECONDS - 1 into it.
WEBHOOK_LEASE_SECONDS = float(env_str("WEBHOOK_LEASE_SECONDS", "30"))
# Delivered and failed deliveries are kept this long (the admin's history), then deleted.
WEBHOOK_RETENTION_DAYS = env_int("WEBHOOK_RETENTION_DAYS", 7)
# Parallel HTTP attempts per worker (one at a time per room and endpoint, in order).
WEBHOOK_CONCURRENCY = env_int("WEBHOOK_CONCURRENCY", 8)
# `manage.py run_webhooks` lowers its CPU priority by this much (os.nice) at start: on a
# host it shares with gateways, the chats' acks get the CPU first (docs/benchmarks.md,
# "Webhooks"). 0 keeps the priority it was started with.
WEBHOOK_WORKER_NICE = env_int("WEBHOOK_WORKER_NICE", 10)
# Refuse webhook URLs on loopback, private, link-local and other internal addresses, at
# registration (IP literals) and when the worker connects (what a name resolves to):
# integrations/addresses.py. Off in development, where receivers run on 127.0.0.1.
WEBHOOK_BLOCK_PRIVATE_ADDRESSES = env_bool("WEBHOOK_BLOCK_PRIVATE_ADDRESSES", not DEBUG)
