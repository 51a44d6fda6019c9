"""Events from other services: a message resumes the instance waiting for it."""
from flask import g
from flask_smorest import Blueprint

from app.api.schemas import MessageResultSchema, MessageSchema
from app.api.services import runtime

blp = Blueprint("messages", __name__, url_prefix="/api/messages",
                description="Deliver messages to waiting instances")


@blp.route("/<string:name>", methods=["POST"])
@blp.arguments(MessageSchema)
@blp.response(200, MessageResultSchema)
def deliver(args, name):
    instance, duplicate = runtime().deliver_message(
        name, payload=args["payload"], business_key=args["business_key"],
        instance_id=args["process_instance_id"], correlation=args["correlation"],
        message_id=args["message_id"], actor=g.actor)
    return {"duplicate": duplicate, "instance": instance}
