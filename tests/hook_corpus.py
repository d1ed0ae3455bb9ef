"""Real-shaped articles, each with the hook a human editor would lift from it (and accepted equivalents).

Written for the hook-selection test: how-to, opinion, news, listicle and plain-text exports in
English, German, French, Spanish, Portuguese, Italian and Dutch. The editor's pick is a sentence
of the article, verbatim; `also` lists sentences an editor would accept just as well.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    name: str
    kind: str
    lang: str
    body: str
    hook: str
    also: tuple[str, ...] = field(default_factory=tuple)
    title: str | None = None


CORPUS = [
    Article("squat-depth", "opinion", "en", """\
In this post I want to share a few thoughts about squat depth, something I get asked about a lot.

Most lifters have been told that squatting below parallel will wreck their knees. That is a myth. Studies of deep squats show no more knee injuries than partial squats, and the deeper position trains the glutes and adductors far better.

What matters is control. If you cannot keep your heels down and your back neutral, stop where you lose position and build the range over a few weeks.

So how deep do you squat? Let me know in the comments.""",
            hook="That is a myth.",
            also=("Most lifters have been told that squatting below parallel will wreck their knees.",
                  "Studies of deep squats show no more knee injuries than partial squats, and the deeper position "
                  "trains the glutes and adductors far better.")),
    Article("sourdough-starter", "how-to", "en", """\
Posted on 3 March 2025 by Anna.

Your sourdough starter is not dead, it is hungry. Nine times out of ten a flat, sour-smelling starter just needs feeding twice a day at room temperature.

Mix equal weights of flour and water with a spoonful of the old starter. Keep it somewhere around 24 degrees. After three days of regular feeds it should double within six hours.

If it still does not rise after a week, switch to wholemeal rye flour for a few feeds. Rye carries more wild yeast than white flour.

Have you rescued a starter you thought was gone?""",
            hook="Your sourdough starter is not dead, it is hungry.",
            also=("Nine times out of ten a flat, sour-smelling starter just needs feeding twice a day at room "
                  "temperature.",)),
    Article("council-cycle-lanes", "news", "en", """\
The city council voted on Tuesday to remove the Elm Street cycle lane, just eighteen months after it opened.

Councillors said traffic on the street had risen by 12 percent since the lane was built. Cycling groups dispute the figure and point to a 40 percent rise in bike journeys over the same period.

The lane cost 2.3 million pounds. Removing it will cost a further 400,000.

A public meeting is planned for next month.""",
            hook="The city council voted on Tuesday to remove the Elm Street cycle lane, just eighteen months after "
                 "it opened.",
            also=("The lane cost 2.3 million pounds.",
                  "Cycling groups dispute the figure and point to a 40 percent rise in bike journeys over the same "
                  "period.")),
    Article("remote-work-tools", "listicle", "en", """\
Hello everyone and welcome back to the blog!

I tried 23 remote work apps this year and kept only five. Here they are, with what each one replaced.

1. A shared calendar instead of scheduling emails. It saves me about an hour a week.
2. One chat tool for the whole team, not three.
3. A notes app that works offline, because hotel wifi never does.
4. A password manager, shared by the team.
5. A timer, the cheapest productivity tool there is.

Which app would you never give up?""",
            hook="I tried 23 remote work apps this year and kept only five."),
    Article("plain-export-running", "plain-text export", "en", """\
12/05/2024

I have been thinking for a while about writing up my first marathon. It was a long day.

Everyone told me to start slow. I did not, and I paid for it at mile 18 when my legs simply stopped.

The lesson is simple: the first ten miles should feel too easy. If they feel right, you are going too fast.

Are you training for a race this year?""",
            hook="The lesson is simple: the first ten miles should feel too easy.",
            also=("Everyone told me to start slow.", "I did not, and I paid for it at mile 18 when my legs simply stopped.",
                  "If they feel right, you are going too fast.")),
    Article("krafttraining-alter", "opinion", "de", """\
In diesem Beitrag geht es um Krafttraining im Alter, ein Thema, das mir am Herzen liegt.

Viele glauben, mit 60 sei es zu spät, mit dem Krafttraining anzufangen. Das ist falsch. Muskeln wachsen in jedem Alter, und schon zwei Einheiten pro Woche verbessern Gleichgewicht und Knochendichte messbar.

Wichtig ist nur, langsam zu steigern und die Technik von Anfang an sauber zu lernen.

Trainierst du selbst noch mit Gewichten?""",
            hook="Viele glauben, mit 60 sei es zu spät, mit dem Krafttraining anzufangen.",
            also=("Das ist falsch.",
                  "Muskeln wachsen in jedem Alter, und schon zwei Einheiten pro Woche verbessern Gleichgewicht und "
                  "Knochendichte messbar.")),
    Article("fahrrad-kette", "how-to", "de", """\
Heute möchte ich euch zeigen, wie ich meine Fahrradkette pflege.

Eine saubere Kette hält dreimal so lange wie eine verdreckte. Dafür braucht es keine teuren Mittel, sondern nur einen Lappen und etwas Öl.

Zuerst die Kette mit dem Lappen abwischen, während du die Kurbel rückwärts drehst. Dann auf jedes Glied einen Tropfen Öl geben und den Überschuss nach zehn Minuten abwischen.

Wie oft reinigst du deine Kette?""",
            hook="Eine saubere Kette hält dreimal so lange wie eine verdreckte."),
    Article("greve-transports", "news", "fr", """\
La grève des transports a paralysé Lyon ce lundi, avec seulement un métro sur quatre en circulation.

Les syndicats réclament une hausse de salaire de 8 %. La direction propose 3 % et refuse de négocier davantage avant la fin du mois.

Les écoles restent ouvertes, mais de nombreux parents ont dû garder leurs enfants à la maison.

Un nouveau mouvement est annoncé pour jeudi.""",
            hook="La grève des transports a paralysé Lyon ce lundi, avec seulement un métro sur quatre en "
                 "circulation."),
    Article("cafe-matin", "opinion", "fr", """\
Dans cet article, je reviens sur une habitude que beaucoup d'entre vous partagent.

Faut-il vraiment boire son café dès le réveil ? Non, et ce n'est pas une question de goût. Le corps produit déjà beaucoup de cortisol le matin, et attendre une heure rend le café bien plus efficace.

Essayez pendant une semaine de décaler votre première tasse.

Et vous, vous buvez votre café à quelle heure ?""",
            hook="Faut-il vraiment boire son café dès le réveil ? Non, et ce n'est pas une question de goût.",
            also=("Faut-il vraiment boire son café dès le réveil ?",)),
    Article("huerto-balcon", "how-to", "es", """\
Hoy quiero hablaros de mi pequeño huerto en el balcón.

No necesitas un jardín para cultivar tus propios tomates. Con una maceta de 20 litros, seis horas de sol y riego cada dos días, una sola planta da más de tres kilos en verano.

Elige variedades pequeñas, como el tomate cherry, y pon un tutor desde el primer día.

¿Qué cultivas tú en casa?""",
            hook="No necesitas un jardín para cultivar tus propios tomates.",
            also=("Con una maceta de 20 litros, seis horas de sol y riego cada dos días, una sola planta da más de "
                  "tres kilos en verano.",)),
    Article("errores-entrevista", "listicle", "es", """\
En este artículo repasamos los errores más comunes en una entrevista de trabajo.

El error más caro no es llegar tarde, sino no preguntar nada al final. Los reclutadores lo interpretan como falta de interés.

1. No investigar la empresa antes.
2. Hablar mal del trabajo anterior.
3. No preparar ejemplos concretos.
4. No hacer ninguna pregunta.

¿Cuál de estos errores has cometido tú?""",
            hook="El error más caro no es llegar tarde, sino no preguntar nada al final."),
    Article("sono-criancas", "opinion", "pt", """\
Neste artigo quero falar de um tema que me preocupa como mãe.

As crianças não precisam de mais atividades depois da escola, precisam de mais sono. Um estudo com 8 000 alunos mostrou que dormir uma hora a mais melhora as notas tanto quanto aulas extra.

Em casa, desligamos os ecrãs às oito e a diferença foi enorme em duas semanas.

E na vossa casa, a que horas se deitam os miúdos?""",
            hook="As crianças não precisam de mais atividades depois da escola, precisam de mais sono.",
            also=("Um estudo com 8 000 alunos mostrou que dormir uma hora a mais melhora as notas tanto quanto "
                  "aulas extra.",)),
    Article("treni-notturni", "news", "it", """\
Dal prossimo dicembre tornano i treni notturni tra Roma e Vienna, dopo dieci anni di assenza.

Il collegamento partirà tre volte a settimana e il biglietto in cuccetta costerà da 59 euro. Le ferrovie austriache prevedono di estendere la linea a Milano entro il 2027.

Le prenotazioni aprono lunedì.""",
            hook="Dal prossimo dicembre tornano i treni notturni tra Roma e Vienna, dopo dieci anni di assenza."),
    Article("fietsen-winter", "how-to", "nl", """\
In dit artikel deel ik mijn tips voor fietsen in de winter.

Koude handen zijn geen reden om de fiets te laten staan. Met dunne wollen handschoenen onder gewone handschoenen fiets je tot min tien graden zonder pijn.

Zet je zadel iets lager op gladde dagen, zodat je sneller een voet aan de grond hebt.

Fiets jij ook door in de winter?""",
            hook="Koude handen zijn geen reden om de fiets te laten staan.",
            also=("Met dunne wollen handschoenen onder gewone handschoenen fiets je tot min tien graden zonder pijn.",)),
]
