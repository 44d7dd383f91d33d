"""One settings module, driven by environment variables (see README "Configuration").

With no DATABASE_URL the demo runs on a SQLite file; with no CELERY_BROKER_URL Celery runs eager.
"""

import datetime
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_database, env_email, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (make run sets DEBUG=true for the demo)."
        )
    SECRET_KEY = "django-insecure-demo-key-only-for-local-debug-runs"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # django.contrib.admin, as the caseworkers' workbench site (claims/admin_site.py).
    "claims.apps.WorkbenchAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "audit",
    "members",
    "handlers",
    "schemes",
    "claims",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a locked-out sign-in into the lockout page; must come last.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

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

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {"default": env_database("DATABASE_URL", str(BASE_DIR / "db.sqlite3"))}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
# domain.md: "today" is the date in Europe/London.
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files need `collectstatic` first (the image runs it); the demo and
        # the test suite serve straight from the app folders.
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Tests and `runserver` without collectstatic still find files from the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False

# E-mail: EMAIL_URL such as smtp+tls://user:password@host:587; console backend when unset.
vars().update(env_email("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "claims@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security. Off DEBUG, `manage.py check --deploy` must report nothing.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
# /healthz is probed over plain HTTP by load balancers and compose.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Celery on Redis. No broker configured: tasks run eagerly in-process (the demo).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or ""
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 1800, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60 if CELERY_TASK_TIME_LIMIT > 120 else None
# Redis redelivers an unacknowledged task after the visibility timeout: keep it above the longest
# task so that a slow task is never run twice at once.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 600}
CELERY_TASK_DEFAULT_QUEUE = "default"
# Bulk work (imports, re-routes) and notifications each have their own queue so that a large
# import never delays a reminder; workers are started with -Q default,bulk,notifications (or a
# subset, to dedicate workers).
CELERY_TASK_ROUTES = {
    "claims.tasks.routing_job_run_task": {"queue": "bulk"},
    "claims.tasks.handovers_reroute_task": {"queue": "bulk"},
    "claims.tasks.deadlines_sweep_task": {"queue": "bulk"},
    "claims.tasks.service_levels_apply_task": {"queue": "bulk"},
    "claims.tasks.import_batch_run_task": {"queue": "bulk"},
    "claims.tasks.statistics_refresh_task": {"queue": "bulk"},
    "claims.tasks.notifications_email_task": {"queue": "notifications"},
}
CELERY_BEAT_SCHEDULE = {
    "handovers-reroute-daily": {
        "task": "claims.tasks.handovers_reroute_task",
        "schedule": crontab(hour=0, minute=30),
    },
    "deadlines-sweep-daily": {
        "task": "claims.tasks.deadlines_sweep_task",
        "schedule": crontab(hour=6, minute=0),
    },
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "config.api_errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["config.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "GP indemnity claims API",
    "DESCRIPTION": (
        "Claims handling for NHS clinical negligence indemnity in general practice: bulk imports, "
        "claims, routing and deadlines. Errors are always "
        '{"errors": [{"row": n?, "field": "...", "code": "...", "message": "..."}]}.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Claims, deadlines and import batches each have a `status`; name each set of choices.
    "ENUM_NAME_OVERRIDES": {
        "ClaimStatusEnum": ["open", "closed"],
        "DeadlineStatusEnum": "claims.models.Deadline.DeadlineStatus",
        "ImportBatchStatusEnum": "claims.models.ImportBatch.BatchStatus",
    },
}

# Bulk imports (issue: imports) read these; declared here so every limit lives in one place.
IMPORT_MAX_BODY_BYTES = env_int("IMPORT_MAX_BODY_BYTES", 50 * 1024 * 1024, minimum=1024)
IMPORT_SYNC_MAX_ROWS = env_int("IMPORT_SYNC_MAX_ROWS", 1000, minimum=1)
# Rows written per transaction (and per progress step) in a queued import.
IMPORT_SLICE_ROWS = env_int("IMPORT_SLICE_ROWS", 2000, minimum=1)
# A queued claims batch stores each slice on a thread of its own while the next is read on a
# second connection (claims.import_services._Storer); false: all on the batch's thread.
IMPORT_STORE_THREAD = env_bool("IMPORT_STORE_THREAD", True)
DATA_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BODY_BYTES

# Threads a re-route job routes its batches on, each with a database connection: two keep both
# Python and PostgreSQL busy on a two-core machine (docs/routing.md, "Re-routing fast").
ROUTING_JOB_THREADS = env_int("ROUTING_JOB_THREADS", 2, minimum=1)

# Days before a deadline on which its handler is reminded (domain.md §5: configurable).
DEADLINE_REMINDER_DAYS = [
    int(day) for day in env_list("DEADLINE_REMINDER_DAYS", ["14", "7", "1"]) if day.isdigit()
]

LOGIN_URL = "/admin/login/"

# Sign-in lockout (django-axes), for the portal, the admin and the API token alike: after
# LOGIN_FAILURE_LIMIT failed tries for one username, that username is locked for
# LOGIN_LOCKOUT_MINUTES (a caseworker can lift it in the admin, "Locked-out sign-ins"). Locking the
# username, not the address, keeps one mistyping person from locking out a whole MDO office
# behind one address, and an attacker who changes address gains nothing.
AUTHENTICATION_BACKENDS = [
    "handlers.auth_backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "handlers.lockout.lockout_response"
AXES_ENABLE_ADMIN = False  # handlers/admin.py shows attempts by role, like every other model
AXES_VERBOSE = False
# axes.W006 warns that a lockout without the address can be dodged by changing cookies or user
# agent; ours locks the username itself, which no such change affects.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
