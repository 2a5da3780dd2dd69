"""tests/message_advice.py: what counts as a ✗ message asking for code the attempt already has.
The sweep (tests/test_exercises.py) applies it to every wrong answer of every lesson."""

from message_advice import already_written, suggestions


def test_a_call_after_a_verb_is_advice_and_found_in_spite_of_quotes_and_spaces():
    message = "✗ The span 'x' has no attribute 'sensor.id'. Try span.set_attribute('sensor.id', 's-1') inside the block."
    assert suggestions(message) == ["span.set_attribute('sensor.id', 's-1')"]
    assert already_written(message, 'span.set_attribute( "sensor.id", "s-1" )') == ["span.set_attribute('sensor.id', 's-1')"]
    assert already_written(message, 'span.set_attribute("sensor.id", "s1")') == []


def test_a_keyword_and_a_placeholder():
    message = "✗ The span has no parent. Start it with context=ctx, where ctx is what propagate.extract(...) read."
    assert "context=ctx" in suggestions(message)
    assert already_written(message, "tracer.start_as_current_span('p', context=ctx)") == ["context=ctx"]
    called = "✗ … Call span.set_status(Status(StatusCode.ERROR, ...)) in the except block."
    assert already_written(called, "span.set_status(Status(StatusCode.ERROR, 'not a number'))")


def test_code_quoted_to_describe_the_mistake_or_a_block_is_not_advice():
    assert suggestions("✗ `props.UserProperty = [...]` APPENDS in paho.") == []
    assert suggestions("✗ It was written inside 'alert': write it in the `with ... 'check temperature'` block.") == []
    assert suggestions("✗ 'x' is a child of 'y', which is inside 'z': it is nested one level too deep.") == []
    assert suggestions("✗ It is started with context=ctx, but that ctx holds no context.") == []
