import pytest
from omnia.conversations import actions
from omnia.conversations.models import Conversation
from omnia.core import clock
from tests.conversations import make_channel, make_customer
pytestmark = pytest.mark.django_db
def test_retry_after_resolve():
    ch, cu = make_channel("telegram"), make_customer()
    kw = dict(customer=cu, channel=ch, text="hi", sent_at=clock.now(), provider_message_id="p1", external_chat_id="c")
    m = actions.do_receive_message(**kw)
    actions.check_set_status(actor=None, conversation=m.conversation, status="resolved")
    assert actions.do_receive_message(**kw) is None
    print("CONVS", list(Conversation.objects.values_list("id", "status", "unread_count")))
    ch.reply_policy = "continue"; ch.save()
    assert actions.do_receive_message(**kw) is None
    print("CONVS2", list(Conversation.objects.values_list("id", "status", "resolved_at")))
