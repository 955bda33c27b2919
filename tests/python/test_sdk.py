"""End-to-end: the official OpenAI and Anthropic Python SDKs talk to the built `veil`
binary, which forwards to the built `veil-mock` provider on 127.0.0.1.

Checks, for both client APIs, plain and streaming, translated both ways and with tool
calls: the provider never receives the personal data, and the client gets it back. Also
`responses.create` (passed through to an OpenAI-kind provider, translated for an
Anthropic-kind and a Gemini-kind one), `embeddings.create`, an `azure` provider (the mock's Azure mode checks the URL shape,
`api-version` and `api-key`), and the SDK's `AzureOpenAI` client against Veil's
Azure-shaped routes.
Servers are started on free ports and stopped by PID.
"""

import json
import os
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

import anthropic
import openai

VEIL = os.environ.get("VEIL_BIN", "target/debug/veil")
MOCK = os.environ.get("VEIL_MOCK_BIN", "target/debug/veil-mock")

VALUES = [
    "jane.doe@example.com",
    "+1 415 555 0132",
    "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00",
    "192.168.1.20",
]
PROMPT = (
    "Please draft a reply to jane.doe@example.com (phone +1 415 555 0132). "
    "Her card 4111 1111 1111 1111 was charged twice; refund to IBAN DE89 3704 0044 0532 0130 00. "
    "Login came from 192.168.1.20."
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VeilSdkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="veil-e2e-")
        cls.record = os.path.join(cls.tmp, "received.jsonl")
        cls.mock = subprocess.Popen(
            [MOCK, "--listen", "127.0.0.1:0", "--record", cls.record],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = cls.mock.stdout.readline().strip()
        if not line.startswith("listening on "):
            cls.mock.kill()
            raise RuntimeError("veil-mock did not start: %r" % line)
        mock_url = line.split()[-1]
        port = free_port()
        cls.audit = os.path.join(cls.tmp, "audit.jsonl")
        config = os.path.join(cls.tmp, "veil.toml")
        with open(config, "w") as f:
            f.write(
                f"""
[server]
listen = "127.0.0.1:{port}"
[providers.mock]
kind = "openai"
base_url = "{mock_url}/v1"
[providers.mocka]
kind = "anthropic"
base_url = "{mock_url}"
[providers.az]
kind = "azure"
base_url = "{mock_url}"
api_version = "2024-10-21"
api_key_env = "VEIL_E2E_AZURE_KEY"
[providers.gm]
kind = "gemini"
base_url = "{mock_url}"
api_key_env = "VEIL_E2E_GEMINI_KEY"
[detect]
model = "none"
[audit]
path = "{cls.audit}"
"""
            )
        cls.log = open(os.path.join(cls.tmp, "veil.log"), "w")
        env = dict(
            os.environ,
            VEIL_AUDIT_KEY="e2e-test-key",
            VEIL_E2E_AZURE_KEY="azure-upstream-key",
            VEIL_E2E_GEMINI_KEY="gemini-upstream-key",
        )
        cls.veil = subprocess.Popen([VEIL, "serve", "--config", config], stderr=cls.log, env=env)
        cls.url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(cls.url + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline or cls.veil.poll() is not None:
                cls.tearDownClass()
                raise RuntimeError("veil did not become ready; log: " + os.path.join(cls.tmp, "veil.log"))
            time.sleep(0.1)
        cls.oai = openai.OpenAI(base_url=cls.url + "/v1", api_key="client-key", max_retries=0)
        cls.ant = anthropic.Anthropic(base_url=cls.url, api_key="client-key", max_retries=0)

    @classmethod
    def tearDownClass(cls):
        for proc in (getattr(cls, "veil", None), getattr(cls, "mock", None)):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        cls.log.close()

    # -- helpers -------------------------------------------------------------------
    def received_since(self, mark):
        with open(self.record) as f:
            lines = f.readlines()
        return [json.loads(l) for l in lines[mark:]]

    def mark(self):
        if not os.path.exists(self.record):
            return 0
        with open(self.record) as f:
            return len(f.readlines())

    def assert_masked_upstream(self, mark):
        got = self.received_since(mark)
        self.assertEqual(len(got), 1, "the provider should get exactly one request")
        raw = json.dumps(got[0]["body"])
        for v in VALUES:
            self.assertNotIn(v, raw, "raw value reached the provider")
        self.assertIn("[EMAIL_1]", raw)
        self.assertIn("[CREDIT_CARD_1]", raw)
        return got[0]

    def assert_restored(self, text):
        for v in VALUES:
            self.assertIn(v, text)
        self.assertNotIn("[EMAIL_1]", text)

    # -- OpenAI SDK ----------------------------------------------------------------
    def test_openai_plain(self):
        m = self.mark()
        r = self.oai.chat.completions.create(model="mock/echo", messages=[{"role": "user", "content": PROMPT}])
        self.assert_restored(r.choices[0].message.content)
        self.assertGreater(r.usage.prompt_tokens, 0)
        up = self.assert_masked_upstream(m)
        self.assertEqual(up["body"]["model"], "echo")

    def test_openai_stream_split_everywhere(self):
        m = self.mark()
        stream = self.oai.chat.completions.create(
            model="mock/echo+delta=1+bytes=3", messages=[{"role": "user", "content": PROMPT}], stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        self.assertEqual(text, "You said: " + PROMPT)
        self.assert_masked_upstream(m)

    def test_openai_to_anthropic_provider(self):
        m = self.mark()
        r = self.oai.chat.completions.create(
            model="mocka/echo", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}]
        )
        self.assertEqual(r.choices[0].message.content, "You said: " + PROMPT)
        self.assertEqual(r.choices[0].finish_reason, "stop")
        up = self.assert_masked_upstream(m)
        self.assertEqual(up["path"], "/v1/messages")
        self.assertEqual(up["body"]["system"], "Be brief.")
        m = self.mark()
        stream = self.oai.chat.completions.create(
            model="mocka/echo+delta=2", messages=[{"role": "user", "content": PROMPT}], stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        self.assertEqual(text, "You said: " + PROMPT)
        self.assert_masked_upstream(m)

    def test_openai_tool_call_arguments_restored(self):
        for model in ("mock/tool", "mocka/tool"):
            m = self.mark()
            r = self.oai.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": PROMPT}],
                tools=[{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
            )
            call = r.choices[0].message.tool_calls[0]
            self.assertEqual(json.loads(call.function.arguments)["query"], PROMPT, model)
            self.assert_masked_upstream(m)
            # Streaming tool call, arguments split into 2-char pieces.
            m = self.mark()
            stream = self.oai.chat.completions.create(
                model=model + "+delta=2",
                messages=[{"role": "user", "content": PROMPT}],
                tools=[{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
                stream=True,
            )
            args = ""
            for c in stream:
                for tc in (c.choices[0].delta.tool_calls or []) if c.choices else []:
                    args += tc.function.arguments or ""
            self.assertEqual(json.loads(args)["query"], PROMPT, model)
            self.assert_masked_upstream(m)

    def test_openai_tool_result_is_masked(self):
        m = self.mark()
        r = self.oai.chat.completions.create(
            model="mock/echo",
            messages=[
                {"role": "user", "content": "look up the customer"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": json.dumps({"email": "jane.doe@example.com"})}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": PROMPT},
                {"role": "user", "content": "Summarise: " + PROMPT},
            ],
        )
        self.assert_restored(r.choices[0].message.content)
        self.assert_masked_upstream(m)

    def test_openai_errors(self):
        with self.assertRaises(openai.APIStatusError) as e:
            self.oai.chat.completions.create(model="mock/error=401", messages=[{"role": "user", "content": "hi"}])
        self.assertEqual(e.exception.status_code, 502)
        with self.assertRaises(openai.NotFoundError):
            self.oai.chat.completions.create(model="nosuch/x", messages=[{"role": "user", "content": "hi"}])
        with self.assertRaises(openai.BadRequestError):
            self.oai.chat.completions.create(model="mock/echo", messages="not a list")

    # -- Embeddings ----------------------------------------------------------------
    def test_embeddings_create(self):
        # The SDK asks for base64 by default and decodes it; the mock answers 8 dimensions.
        m = self.mark()
        r = self.oai.embeddings.create(model="mock/text-embedding-3-small", input=[PROMPT, "nothing personal"])
        self.assertEqual(len(r.data), 2)
        self.assertEqual(len(r.data[0].embedding), 8)
        self.assertGreater(r.usage.prompt_tokens, 0)
        up = self.assert_masked_upstream(m)
        self.assertEqual(up["path"], "/v1/embeddings")
        self.assertEqual(up["body"]["input"][1], "nothing personal")
        # Floats as asked; texts that differ only in a masked value embed alike.
        a = self.oai.embeddings.create(model="mock/e", input="Write to jane.doe@example.com", encoding_format="float")
        b = self.oai.embeddings.create(model="mock/e", input="Write to john.roe@example.org", encoding_format="float")
        self.assertEqual(a.data[0].embedding, b.data[0].embedding)
        # To an Azure deployment.
        m = self.mark()
        r = self.oai.embeddings.create(model="az/emb", input=PROMPT)
        self.assertEqual(len(r.data), 1)
        up = self.assert_masked_upstream(m)
        self.assertEqual(up["path"], "/openai/deployments/emb/embeddings")
        self.assertEqual(up["query"], "api-version=2024-10-21")
        # Anthropic providers have no embeddings; token arrays cannot be masked.
        with self.assertRaises(openai.BadRequestError) as e:
            self.oai.embeddings.create(model="mocka/x", input="hi")
        self.assertIn("no embeddings endpoint", str(e.exception))
        with self.assertRaises(openai.BadRequestError) as e:
            self.oai.embeddings.create(model="mock/e", input=[[1, 2, 3]])
        self.assertIn("token arrays cannot be masked", str(e.exception))

    # -- Azure -------------------------------------------------------------------------
    # >>> responses: the Responses API (client.responses.create)
    def test_responses_create_plain_stream_and_tool(self):
        m = self.mark()
        r = self.oai.responses.create(model="mock/echo", instructions="Be brief.", input=PROMPT)
        self.assertEqual(r.output_text, "You said: " + PROMPT)
        self.assertGreater(r.usage.input_tokens, 0)
        up = self.assert_masked_upstream(m)
        self.assertEqual(up["path"], "/v1/responses")
        self.assertEqual(up["body"]["model"], "echo")
        self.assertEqual(up["body"]["instructions"], "Be brief.")
        # Streaming, placeholders split across 1-char deltas and 3-byte frames.
        m = self.mark()
        stream = self.oai.responses.create(
            model="mock/echo+delta=1+bytes=3",
            input=[{"role": "user", "content": [{"type": "input_text", "text": PROMPT}]}],
            stream=True,
        )
        text, done, completed = "", None, None
        for ev in stream:
            if ev.type == "response.output_text.delta":
                text += ev.delta
            elif ev.type == "response.output_text.done":
                done = ev.text
            elif ev.type == "response.completed":
                completed = ev.response
        self.assertEqual(text, "You said: " + PROMPT)
        self.assertEqual(done, text)
        self.assertEqual(completed.output_text, text)
        self.assert_masked_upstream(m)
        # A function tool: the call's arguments come back restored, plain and streamed.
        tools = [{"type": "function", "name": "lookup", "description": "Look someone up",
                  "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}]
        m = self.mark()
        r = self.oai.responses.create(model="mock/tool", input=PROMPT, tools=tools)
        call = [o for o in r.output if o.type == "function_call"][0]
        self.assertEqual(call.name, "lookup")
        self.assertEqual(json.loads(call.arguments)["query"], PROMPT)
        up = self.assert_masked_upstream(m)
        self.assertEqual(up["body"]["tools"][0]["name"], "lookup")
        m = self.mark()
        args = ""
        for ev in self.oai.responses.create(model="mock/tool+delta=2", input=PROMPT, tools=tools, stream=True):
            if ev.type == "response.function_call_arguments.delta":
                args += ev.delta
        self.assertEqual(json.loads(args)["query"], PROMPT)
        self.assert_masked_upstream(m)

    def test_responses_to_anthropic_and_gemini_providers(self):
        # Translated through Chat Completions: the provider gets its own format (masked), the
        # SDK gets a Responses object or event stream (restored).
        tools = [{"type": "function", "name": "lookup", "description": "Look someone up",
                  "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}]
        for provider, path in (("mocka", "/v1/messages"), ("gm", "/v1beta/models/echo:generateContent")):
            m = self.mark()
            r = self.oai.responses.create(model=provider + "/echo", instructions="Be brief.", input=PROMPT)
            self.assertEqual(r.object, "response")
            self.assertEqual(r.status, "completed")
            self.assertEqual(r.output_text, "You said: " + PROMPT)
            self.assertGreater(r.usage.input_tokens, 0)
            self.assertGreater(r.usage.output_tokens, 0)
            up = self.assert_masked_upstream(m)
            self.assertEqual(up["path"], path)
            self.assertNotIn("input", up["body"])
            # Streaming, placeholders and UTF-8 split across 1-char deltas and 3-byte frames.
            m = self.mark()
            stream = self.oai.responses.create(
                model=provider + "/echo+delta=1+bytes=3",
                input=[{"role": "user", "content": [{"type": "input_text", "text": PROMPT + " ✓ 日本語"}]}],
                stream=True,
            )
            text, done, completed, types = "", None, None, []
            for ev in stream:
                types.append(ev.type)
                if ev.type == "response.output_text.delta":
                    text += ev.delta
                elif ev.type == "response.output_text.done":
                    done = ev.text
                elif ev.type == "response.completed":
                    completed = ev.response
            self.assertEqual(text, "You said: " + PROMPT + " ✓ 日本語", provider)
            self.assertEqual(done, text)
            self.assertEqual(completed.output_text, text)
            self.assertGreater(completed.usage.output_tokens, 0)
            self.assertEqual(types[:2], ["response.created", "response.in_progress"])
            self.assertEqual(types[-1], "response.completed")
            self.assert_masked_upstream(m)
            # A function tool, plain and streamed (the SDK's stream helper assembles the call).
            m = self.mark()
            r = self.oai.responses.create(model=provider + "/tool", input=PROMPT, tools=tools)
            call = [o for o in r.output if o.type == "function_call"][0]
            self.assertEqual(call.name, "lookup")
            self.assertEqual(json.loads(call.arguments)["query"], PROMPT, provider)
            self.assert_masked_upstream(m)
            m = self.mark()
            with self.oai.responses.stream(model=provider + "/tool+delta=2", input=PROMPT, tools=tools) as s:
                args = ""
                for ev in s:
                    if ev.type == "response.function_call_arguments.delta":
                        args += ev.delta
                final = s.get_final_response()
            self.assertEqual(json.loads(args)["query"], PROMPT, provider)
            streamed_call = [o for o in final.output if o.type == "function_call"][0]
            self.assertEqual(json.loads(streamed_call.arguments)["query"], PROMPT)
            self.assert_masked_upstream(m)
            # The round trip: the call and its output go back as input items.
            m = self.mark()
            r = self.oai.responses.create(
                model=provider + "/echo",
                tools=tools,
                input=[{"role": "user", "content": PROMPT}, call,
                       {"type": "function_call_output", "call_id": call.call_id, "output": "Found " + PROMPT}],
            )
            self.assertEqual(r.output_text, "You said: Found " + PROMPT)
            up = self.assert_masked_upstream(m)
            if provider == "gm":
                # The SDK sent the call item back whole, Gemini's thought signature included.
                self.assertIn("thoughtSignature", json.dumps(up["body"]))

    def test_responses_settings_without_a_chat_equivalent_are_refused(self):
        m = self.mark()
        with self.assertRaises(openai.BadRequestError) as ctx:
            self.oai.responses.create(model="mocka/echo", input=PROMPT, previous_response_id="resp_0123456789abcdef")
        self.assertIn("previous_response_id", str(ctx.exception))
        self.assertNotIn("jane", str(ctx.exception))
        self.assertEqual(self.received_since(m), [], "nothing is sent")

    # <<< responses

    def test_azure_provider_from_both_sdks(self):
        # The mock's Azure mode refuses a request without api-version or api-key, so a
        # success here means Veil spoke Azure's URL shape and auth.
        m = self.mark()
        r = self.oai.chat.completions.create(model="az/echo", messages=[{"role": "user", "content": PROMPT}])
        self.assertEqual(r.choices[0].message.content, "You said: " + PROMPT)
        self.assertEqual(r.model, "echo")
        up = self.assert_masked_upstream(m)
        self.assertEqual(up["path"], "/openai/deployments/echo/chat/completions")
        self.assertEqual(up["query"], "api-version=2024-10-21")
        m = self.mark()
        stream = self.oai.chat.completions.create(
            model="az/echo+delta=1+bytes=3", messages=[{"role": "user", "content": PROMPT}], stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        self.assertEqual(text, "You said: " + PROMPT)
        self.assert_masked_upstream(m)
        m = self.mark()
        with self.ant.messages.stream(
            model="az/tool+delta=2",
            max_tokens=200,
            tools=[{"name": "lookup", "input_schema": {"type": "object"}}],
            messages=[{"role": "user", "content": PROMPT}],
        ) as s:
            final = s.get_final_message()
        block = next(b for b in final.content if b.type == "tool_use")
        self.assertEqual(block.input["query"], PROMPT)
        up = self.assert_masked_upstream(m)
        self.assertEqual(up["body"]["max_completion_tokens"], 200)

    def test_azure_openai_client_against_veil(self):
        az = openai.AzureOpenAI(azure_endpoint=self.url, api_key="client-key", api_version="2024-10-21", max_retries=0)
        # Veil -> the Azure mock.
        m = self.mark()
        r = az.chat.completions.create(model="az/echo", messages=[{"role": "user", "content": PROMPT}])
        self.assertEqual(r.choices[0].message.content, "You said: " + PROMPT)
        up = self.assert_masked_upstream(m)
        self.assertEqual(up["path"], "/openai/deployments/echo/chat/completions")
        m = self.mark()
        stream = az.chat.completions.create(
            model="az/echo+delta=1", messages=[{"role": "user", "content": PROMPT}], stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        self.assertEqual(text, "You said: " + PROMPT)
        self.assert_masked_upstream(m)
        # Veil -> an OpenAI-kind and an Anthropic-kind provider, from the Azure client.
        for model, path in (("mock/tool", "/v1/chat/completions"), ("mocka/tool", "/v1/messages")):
            m = self.mark()
            r = az.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": PROMPT}],
                tools=[{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
            )
            self.assertEqual(json.loads(r.choices[0].message.tool_calls[0].function.arguments)["query"], PROMPT)
            self.assertEqual(self.assert_masked_upstream(m)["path"], path)
        m = self.mark()
        e = az.embeddings.create(model="az/emb", input=[PROMPT])
        self.assertEqual(len(e.data[0].embedding), 8)
        self.assertEqual(self.assert_masked_upstream(m)["path"], "/openai/deployments/emb/embeddings")

    def test_models_list_shows_forwardable_providers(self):
        ids = [m.id for m in self.oai.models.list()]
        for want in ("mock/*", "mocka/*", "az/*", "groq/*"):
            self.assertIn(want, ids)

    # -- Anthropic SDK -------------------------------------------------------------
    def test_anthropic_plain_and_stream(self):
        m = self.mark()
        r = self.ant.messages.create(model="mocka/echo", max_tokens=200, messages=[{"role": "user", "content": PROMPT}])
        self.assertEqual(r.content[0].text, "You said: " + PROMPT)
        self.assertGreater(r.usage.input_tokens, 0)
        self.assert_masked_upstream(m)
        m = self.mark()
        with self.ant.messages.stream(
            model="mocka/echo+delta=1+bytes=5", max_tokens=200, messages=[{"role": "user", "content": PROMPT}]
        ) as s:
            text = s.get_final_text()
        self.assertEqual(text, "You said: " + PROMPT)
        self.assert_masked_upstream(m)

    def test_anthropic_to_openai_provider(self):
        m = self.mark()
        r = self.ant.messages.create(
            model="mock/echo", max_tokens=200, system="Be brief.", messages=[{"role": "user", "content": PROMPT}]
        )
        self.assertEqual(r.content[0].text, "You said: " + PROMPT)
        self.assertEqual(r.stop_reason, "end_turn")
        up = self.assert_masked_upstream(m)
        self.assertEqual(up["body"]["messages"][0], {"role": "system", "content": "Be brief."})
        m = self.mark()
        with self.ant.messages.stream(
            model="mock/echo+delta=3", max_tokens=200, messages=[{"role": "user", "content": PROMPT}]
        ) as s:
            text = s.get_final_text()
        self.assertEqual(text, "You said: " + PROMPT)
        self.assert_masked_upstream(m)

    def test_anthropic_tool_use(self):
        for model in ("mocka/tool", "mock/tool"):
            m = self.mark()
            r = self.ant.messages.create(
                model=model,
                max_tokens=200,
                tools=[{"name": "lookup", "input_schema": {"type": "object"}}],
                messages=[{"role": "user", "content": PROMPT}],
            )
            block = next(b for b in r.content if b.type == "tool_use")
            self.assertEqual(block.input["query"], PROMPT, model)
            self.assertEqual(r.stop_reason, "tool_use")
            self.assert_masked_upstream(m)
            m = self.mark()
            with self.ant.messages.stream(
                model=model + "+delta=2",
                max_tokens=200,
                tools=[{"name": "lookup", "input_schema": {"type": "object"}}],
                messages=[{"role": "user", "content": PROMPT}],
            ) as s:
                final = s.get_final_message()
            block = next(b for b in final.content if b.type == "tool_use")
            self.assertEqual(block.input["query"], PROMPT, model)
            self.assert_masked_upstream(m)

    def test_anthropic_errors(self):
        with self.assertRaises(anthropic.APIStatusError) as e:
            self.ant.messages.create(model="mocka/error=500", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
        self.assertEqual(e.exception.status_code, 502)
        with self.assertRaises(anthropic.BadRequestError):
            self.ant.messages.create(model="mocka/echo", max_tokens=10, messages=[{"role": "robot", "content": "hi"}])

    def test_zz_audit_log_verifies(self):
        # Runs last (alphabetical): every request above has a record; the chain is intact.
        time.sleep(0.5)
        out = subprocess.run([VEIL, "audit", "verify", self.audit], capture_output=True, text=True,
                             env=dict(os.environ, VEIL_AUDIT_KEY="e2e-test-key"))
        self.assertEqual(out.returncode, 0, out.stderr)
        with open(self.audit) as f:
            text = f.read()
        for v in VALUES:
            self.assertNotIn(v, text)


if __name__ == "__main__":
    unittest.main()
