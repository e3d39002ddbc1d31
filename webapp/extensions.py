"""Flask extension objects, created once and bound in create_app."""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from .json_columns import loads as _json_loads

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# JSON columns read through orjson where it reads the same values (json_columns); the
# config's SQLALCHEMY_ENGINE_OPTIONS still override these defaults
db = SQLAlchemy(model_class=Base, engine_options={"json_deserializer": _json_loads})
migrate = Migrate()
